"""An event serialized once: its JSON text, with what consumers route and order it by."""

import json
from dataclasses import dataclass
from typing import Any

from realtime.events import BatchUpdate, ChannelEvent
from realtime.events.encoded import EncodedEvent

EVENT_MESSAGE_TYPE = "portfolio.event"


@dataclass(frozen=True, slots=True)
class WireFrame:
    """A server frame on its way to sockets.

    The publisher dumps each event to JSON once; the channel layer carries the text and
    these few fields beside it, and every socket sends the text as it is. Only the rare
    paths that must change a frame (merging position windows, trimming a batch that
    overlaps a snapshot) parse it again.
    """

    channel: str
    first_seq: int
    seq: int
    type: str
    # When the domain change happened, in epoch seconds (latency statistics).
    changed_at: float
    text: str

    @classmethod
    def of(cls, event: ChannelEvent | BatchUpdate | EncodedEvent) -> "WireFrame":
        if isinstance(event, EncodedEvent):
            return cls(
                event.channel, event.first_seq, event.seq, event.type, event.changed_at, event.text
            )
        return cls(
            channel=event.channel,
            first_seq=event.from_seq if isinstance(event, BatchUpdate) else event.seq,
            seq=event.seq,
            type=event.type,
            changed_at=changed_at_of(event),
            text=event.model_dump_json(),
        )

    def payload(self) -> dict[str, Any]:
        """The frame as a dict (parsed again: only for the paths that change a frame)."""
        parsed: dict[str, Any] = json.loads(self.text)
        return parsed

    def to_message(self, *, urgent: bool) -> dict[str, Any]:
        """The channel-layer message: msgpack carries a list of plain values cheaply."""
        fields = [self.channel, self.first_seq, self.seq, self.type, self.changed_at, self.text]
        return {"type": EVENT_MESSAGE_TYPE, "frame": fields, "urgent": urgent}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> "WireFrame | None":
        """The frame a layer message carries; None if it is not one (a malformed message)."""
        try:
            channel, first_seq, seq, frame_type, changed_at, text = message["frame"]
            frame = cls(
                str(channel), int(first_seq), int(seq), str(frame_type), float(changed_at), text
            )
        except (KeyError, TypeError, ValueError):
            return None
        return frame if isinstance(text, str) else None


def changed_at_of(event: ChannelEvent | BatchUpdate | EncodedEvent) -> float:
    """When an event's (newest) change happened, in epoch seconds: a WireFrame's changed_at."""
    return event.changed_at if isinstance(event, EncodedEvent) else event.ts.timestamp()
