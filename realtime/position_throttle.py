"""Position updates of one socket in windows: the newest value per symbol, one frame a window.

A quiet socket gets a change at once; the changes that follow within the window leave
together at its end. A trade-caused (urgent) change flushes the window at once, so a fill
never waits. Events on both sides of a seq gap never share a batch, or the client would
not see the gap.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from realtime.coalescing import CoalescingBuffer
from realtime.events import portfolio_event_adapter
from realtime.sequencing import Frame, frame_range


class PositionThrottle:
    def __init__(
        self,
        window_seconds: float,
        emit: Callable[[Frame], None],
        later: Callable[..., None],
    ) -> None:
        self.window_seconds = window_seconds
        self._emit = emit
        self._later = later
        self._buffer = CoalescingBuffer()
        self._flushed_at = float("-inf")
        # Bumped by every flush: a window's timer that finds another value is stale.
        self._token = 0

    def reset(self) -> None:
        """Forget what is buffered (a new snapshot covers it, or the channel was left)."""
        self._buffer = CoalescingBuffer()
        self._token += 1

    def add(self, frames: list[Frame], *, urgent: bool) -> None:
        was_empty = not self._buffer
        for frame in frames:
            event: Any = portfolio_event_adapter.validate_python(frame)
            if not self._buffer.continues(frame_range(frame)[0]):
                # The sequencer gave up on a missing seq: send what came before it on its
                # own, so the client sees the gap instead of a batch that claims to cover it.
                self.flush()
            if event.type == "batch":
                self._buffer.add_batch(event)
            else:
                self._buffer.add(event)
        if urgent:
            self.flush()
        elif was_empty and self._buffer:
            wait = self._flushed_at + self.window_seconds - asyncio.get_running_loop().time()
            if wait <= 0:
                self.flush()
            else:
                self._token += 1
                self._later(wait, self._flush_if, self._token)

    def flush(self) -> None:
        self._token += 1
        frame = self._buffer.drain()
        if frame is not None:
            self._flushed_at = asyncio.get_running_loop().time()
            self._emit(frame.model_dump(mode="json"))

    def _flush_if(self, token: int) -> None:
        """A window's timer: stale if the window was flushed (and maybe reopened) since."""
        if token == self._token:
            self.flush()
