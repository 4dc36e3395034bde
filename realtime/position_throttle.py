"""Position updates of one socket in windows: the newest value per symbol, one frame a window.

A quiet socket gets a change at once; the changes that follow within the window leave
together at its end (a window after the last frame left, or once a change is a window
newer than that frame's, whichever comes first: realtime.throttle_window). A
trade-caused (urgent) change flushes the window at once, so a fill never waits. Events on
both sides of a seq gap never share a batch, or the client would not see the gap.

A window that holds one frame sends that frame's text as the publisher made it; only
a window that merges several frames parses them and serializes the batch.
"""

import asyncio
from collections.abc import Callable

from realtime.coalescing import CoalescingBuffer
from realtime.events import BatchUpdate, portfolio_event_adapter
from realtime.throttle_window import LastFrame, window_wait
from realtime.wire import WireFrame


class PositionThrottle:
    def __init__(
        self,
        window_seconds: float,
        emit: Callable[[WireFrame], None],
        later: Callable[..., None],
    ) -> None:
        self.window_seconds = window_seconds
        self._emit = emit
        self._later = later
        # The window's frames, in seq order, as they arrived.
        self._frames: list[WireFrame] = []
        # The last frame this window let out.
        self._last: LastFrame | None = None
        # Bumped by every flush: a window's timer that finds another value is stale.
        self._token = 0

    def reset(self) -> None:
        """Forget what is buffered (a new snapshot covers it, or the channel was left)."""
        self._frames = []
        self._token += 1

    def add(self, frames: list[WireFrame], *, urgent: bool) -> None:
        was_empty = not self._frames
        for frame in frames:
            if self._frames and frame.first_seq > self._frames[-1].seq + 1:
                # The sequencer gave up on a missing seq: send what came before it on its
                # own, so the client sees the gap instead of a batch that claims to cover it.
                self.flush()
            self._frames.append(frame)
        if urgent:
            self.flush()
        elif was_empty and self._frames:
            now = asyncio.get_running_loop().time()
            wait = window_wait(self._last, now, self._frames[0].changed_at, self.window_seconds)
            if wait <= 0:
                self.flush()
            else:
                self._token += 1
                self._later(wait, self._flush_if, self._token)

    def flush(self) -> None:
        self._token += 1
        frames, self._frames = self._frames, []
        if not frames:
            return
        frame = frames[0] if len(frames) == 1 else _merged(frames)
        self._last = LastFrame(asyncio.get_running_loop().time(), frame.changed_at)
        self._emit(frame)

    def _flush_if(self, token: int) -> None:
        """A window's timer: stale if the window was flushed (and maybe reopened) since."""
        if token == self._token:
            self.flush()


def _merged(frames: list[WireFrame]) -> WireFrame:
    """Several frames of a window as one: the newest value per symbol, the whole seq range."""
    buffer = CoalescingBuffer()
    for frame in frames:
        event = portfolio_event_adapter.validate_json(frame.text)
        if isinstance(event, BatchUpdate):
            buffer.add_batch(event)
        else:
            buffer.add(event)  # type: ignore[arg-type]
    drained = buffer.drain()
    if drained is None:
        raise ValueError("a window with no frames has nothing to merge")
    return WireFrame.of(drained)
