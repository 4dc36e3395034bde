"""Latest-value-wins coalescing of one channel's events, keeping the seq range they cover."""

from dataclasses import dataclass, field

from realtime.events import AccountUpdate, BatchUpdate, ChannelEvent, create_batch_event
from realtime.events.encoded import EncodedEvent, encode_batch, encode_event

# The publisher buffers price-caused events already encoded (realtime.events.encoded);
# the consumer's position window merges validated ones.
Coalescable = ChannelEvent | EncodedEvent


def event_key(event: Coalescable) -> str:
    """Events with the same key describe the same thing; a later one supersedes an earlier one.

    Only whole-state events have keys: positions by symbol, the account as one thing.
    Orders and trades are order-dependent and are never coalesced.
    """
    if isinstance(event, EncodedEvent):
        if event.key and event.size == 1:
            return event.key
        raise ValueError(f"{event.type} events must not be coalesced")
    if isinstance(event, AccountUpdate):
        return "account"
    if event.type == "position_update":
        return event.data.symbol
    raise ValueError(f"{event.type} events must not be coalesced")


@dataclass
class CoalescingBuffer:
    """Pending events of one (user, channel): the newest per key, plus the lowest seq seen."""

    from_seq: int | None = None
    # The highest seq covered so far.
    seq: int = 0
    latest: dict[str, Coalescable] = field(default_factory=dict)
    count: int = 0

    def add(self, event: Coalescable) -> None:
        if self.from_seq is None or event.seq < self.from_seq:
            self.from_seq = event.seq
        key = event_key(event)
        current = self.latest.get(key)
        if current is None or event.seq > current.seq:
            self.latest[key] = event
        self.seq = max(self.seq, event.seq)
        self.count += 1

    def add_batch(self, batch: BatchUpdate) -> None:
        """Fold an already coalesced batch in; its range, not just its events, is covered."""
        for event in batch.events:
            self.add(event)
        if self.from_seq is None or batch.from_seq < self.from_seq:
            self.from_seq = batch.from_seq
        self.seq = max(self.seq, batch.seq)

    def continues(self, first_seq: int) -> bool:
        """Whether a frame starting at `first_seq` extends the buffered range without a hole.

        A drained batch claims every seq from its from_seq to its seq, so events on both
        sides of a missing seq must never share one: the client would not see the gap.
        """
        return self.from_seq is None or first_seq <= self.seq + 1

    def __bool__(self) -> bool:
        return self.from_seq is not None

    def drain(self) -> Coalescable | BatchUpdate | None:
        """The buffered events as one frame (a plain event when nothing was superseded)."""
        if self.from_seq is None:
            return None
        events = sorted(self.latest.values(), key=lambda e: e.seq)
        from_seq = self.from_seq
        single = len(events) == 1 and self.count == 1 and events[0].seq == from_seq
        self.from_seq, self.seq, self.latest, self.count = None, 0, {}, 0
        if single:
            return events[0]
        validated = [e for e in events if not isinstance(e, EncodedEvent)]
        if len(validated) == len(events):
            return create_batch_event(validated[0].channel, validated, from_seq=from_seq)
        encoded = [e if isinstance(e, EncodedEvent) else encode_event(e) for e in events]
        return encode_batch(encoded, from_seq=from_seq)
