"""A Python model of the live client's store: snapshots, events, batches and gap detection.

It follows the protocol in docs/architecture.md ("WebSocket protocol") as static/'s store does:
a `snapshot` replaces one channel's state and sets its last seq; an event or a batch whose
first seq is beyond last + 1 is a gap (the channel must be re-subscribed, and is ignored
until its fresh snapshot arrives); anything at or below the last seq is already applied.
Events carry whole rows, so applying one is a replacement, never an increment.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Frame = dict[str, Any]

CHANNELS = ("positions", "orders", "account")
TERMINAL_ORDER_STATUSES = frozenset(
    {"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"}
)
# Frames that change no state.
_CONTROL_FRAMES = frozenset({"subscribed", "unsubscribed", "ping", "pong"})


@dataclass
class ClientState:
    """One tab's store. `last_seq[channel]` is None until that channel's snapshot arrives."""

    last_seq: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(CHANNELS))
    positions: dict[str, Frame] = field(default_factory=dict)
    orders: dict[str, Frame] = field(default_factory=dict)
    fills: dict[str, Frame] = field(default_factory=dict)
    account: Frame | None = None
    # Channels whose gap was seen and whose fresh snapshot has not arrived yet.
    resyncing: set[str] = field(default_factory=set)
    gaps: int = 0
    stale_frames: int = 0
    errors: list[Frame] = field(default_factory=list)

    def apply(self, frame: Frame) -> list[str]:
        """Apply one server frame; returns the channels to re-subscribe because of a gap."""
        kind = frame["type"]
        if kind in _CONTROL_FRAMES:
            return []
        if kind == "error":
            self.errors.append(frame)
            return []
        if kind == "snapshot":
            self._apply_snapshot(frame)
            return []
        channel = frame["channel"]
        last = self.last_seq[channel]
        if last is None or channel in self.resyncing:
            return []  # the coming snapshot covers it
        seq = int(frame["seq"])
        first = int(frame["from_seq"]) if "from_seq" in frame else seq
        if seq <= last:
            self.stale_frames += 1
            return []
        if first > last + 1:
            self.gaps += 1
            self.resyncing.add(channel)
            return [channel]
        events = frame["events"] if kind == "batch" else [frame]
        for event in sorted(events, key=lambda e: int(e["seq"])):
            if int(event["seq"]) > last:
                self._apply_event(event)
        self.last_seq[channel] = seq
        return []

    def _apply_snapshot(self, frame: Frame) -> None:
        channel, data = frame["channel"], frame["data"]
        if channel == "positions":
            self.positions = {p["symbol"]: p for p in data["positions"]}
        elif channel == "orders":
            self.orders = {o["id"]: o for o in data["orders"]}
            self.fills = {f["execution_id"]: f for f in data["fills"]}
        else:
            self.account = data["account"]
        self.last_seq[channel] = int(frame["seq"])
        self.resyncing.discard(channel)

    def _apply_event(self, event: Frame) -> None:
        kind, data = event["type"], event["data"]
        if kind == "position_update":
            if data["side"] == "flat" or Decimal(data["qty"]) == 0:
                self.positions.pop(data["symbol"], None)
            else:
                self.positions[data["symbol"]] = data
        elif kind == "order_update":
            if data["status"] in TERMINAL_ORDER_STATUSES:
                self.orders.pop(data["id"], None)
            else:
                self.orders[data["id"]] = data
        elif kind == "trade_executed":
            self.fills[data["execution_id"]] = data
        elif kind == "account_update":
            self.account = data
        else:
            raise AssertionError(f"unexpected event type {kind!r}")

    @property
    def in_sync(self) -> bool:
        """Every channel has a snapshot and none is waiting for a fresh one."""
        return not self.resyncing and all(s is not None for s in self.last_seq.values())
