"""Per-channel ordering on the consumer: drop what the snapshot covers, hold brief gaps.

Events of one user can come from several processes (the worker fills, the market marks),
so two commits close together may reach a socket out of order. A frame ahead of a
missing seq is held for REORDER_WAIT_SECONDS; if the gap is still open then, the frames
go out anyway and the client, seeing the gap, re-subscribes for a fresh snapshot.
"""

import json
from dataclasses import replace
from typing import Any

from realtime.wire import WireFrame

# A frame the consumer builds itself (snapshot, ping, error): a dict, dumped when sent.
Frame = dict[str, Any]


def frame_range(frame: WireFrame) -> tuple[int, int]:
    """The seqs a frame covers: a batch its from_seq..seq, an event just its seq."""
    return frame.first_seq, frame.seq


def trim_batch(frame: WireFrame, last_sent: int) -> WireFrame:
    """Cut the part of a batch at or below `last_sent` (already in the client's snapshot)."""
    payload = frame.payload()
    payload["events"] = [e for e in payload["events"] if e["seq"] > last_sent]
    payload["from_seq"] = last_sent + 1
    text = json.dumps(payload, separators=(",", ":"))
    return replace(frame, first_seq=last_sent + 1, text=text)


class ChannelSequencer:
    """Releases a channel's frames in seq order, starting after the snapshot's seq."""

    def __init__(self) -> None:
        self.last_sent: int | None = None
        self._held: dict[int, WireFrame] = {}

    def reset(self, snapshot_seq: int) -> None:
        """A snapshot at `snapshot_seq` went out: everything up to it is covered."""
        self.last_sent = snapshot_seq
        self._held = {k: f for k, f in self._held.items() if frame_range(f)[1] > snapshot_seq}

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def offer(self, frame: WireFrame) -> list[WireFrame]:
        """Frames now ready to send, in order (possibly none: dropped or held)."""
        if self.last_sent is None:
            return []  # not subscribed yet; the coming snapshot covers it
        first, last = frame_range(frame)
        if last <= self.last_sent:
            return []
        if first <= self.last_sent:
            frame = trim_batch(frame, self.last_sent)
            first = self.last_sent + 1
        if first > self.last_sent + 1:
            self._held[first] = frame
            return []
        return [*self._accept(frame), *self._release_contiguous()]

    def release_all(self) -> list[WireFrame]:
        """Give up waiting: send what is held, in order; the client will see the gap."""
        ready: list[WireFrame] = []
        for first in sorted(self._held):
            frame = self._held.pop(first)
            if self.last_sent is not None and frame_range(frame)[1] <= self.last_sent:
                continue
            ready.extend(self._accept(frame))
        return ready

    def _accept(self, frame: WireFrame) -> list[WireFrame]:
        self.last_sent = frame_range(frame)[1]
        return [frame]

    def _release_contiguous(self) -> list[WireFrame]:
        ready: list[WireFrame] = []
        while self.last_sent is not None and self.last_sent + 1 in self._held:
            ready.extend(self._accept(self._held.pop(self.last_sent + 1)))
        return ready
