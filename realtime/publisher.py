"""The publisher: the only caller of group_send. Coalesces price-driven updates at the source.

Services run in threads (requests, the order worker, the market loop); the channel layer
is asyncio. Everything is handed to one event loop, in order: the server's own loop when
this process serves sockets (the in-memory layer only works there), otherwise a private
loop thread. A single sender task drains the queue, so events leave in the order the
commits happened in this process: whatever has queued up goes to Redis in one pipeline
(realtime.layers.group_send_many) instead of one round trip per message.

Each event is serialized to JSON once, here (realtime.wire); sockets send that text.
"""

import asyncio
import atexit
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from channels.layers import get_channel_layer

from realtime import stats
from realtime.coalescing import CoalescingBuffer
from realtime.conf import SOURCE_COALESCE_WINDOW_SECONDS
from realtime.events import BatchUpdate, ChannelEvent
from realtime.events.encoded import EncodedEvent
from realtime.groups import channel_group, control_group
from realtime.layers import group_send_many
from realtime.throttle_window import LastFrame, window_wait
from realtime.wire import WireFrame, changed_at_of

logger = logging.getLogger(__name__)

# Past this many throttle entries, the ones older than a window are forgotten.
MAX_THROTTLE_ENTRIES = 10_000
CONTROL_MESSAGE_TYPE = "portfolio.control"
# How long a process that exits waits for its queued messages to go out.
DRAIN_TIMEOUT_SECONDS = 3.0
# The most messages one pipeline carries to Redis.
MAX_SEND_BATCH = 500


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    """A private loop thread: run until Publisher.close stops the loop, then close it."""
    try:
        loop.run_forever()
    finally:
        loop.close()


class Publisher:
    def __init__(self, coalesce_window_seconds: float = SOURCE_COALESCE_WINDOW_SECONDS) -> None:
        self._window = coalesce_window_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._buffers: dict[tuple[int, str], CoalescingBuffer] = {}
        # What each (user, channel) last sent: coalescing is a throttle, not a delay.
        self._last_sent: dict[tuple[int, str], LastFrame] = {}
        # Calls handed over by other threads, in order. One loop wake-up takes all that
        # came meanwhile: call_soon_threadsafe per event wrote to the loop's self-pipe
        # every time, and a price tick hands over thousands of events.
        self._handoff: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._wake_pending = False
        # The loops this publisher started in threads of its own (no server loop was bound).
        self._private_loops: list[asyncio.AbstractEventLoop] = []

    # --- Loop plumbing -----------------------------------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish on `loop` (the ASGI server's) from now on."""
        with self._lock:
            if self._loop is loop:
                return
            self._loop, self._queue, self._buffers = loop, None, {}
        loop.call_soon_threadsafe(self._start_sender)

    async def unbind_loop(self) -> None:
        """Stop sending on the running loop, which is about to close (a test's loop).

        Its sender task would otherwise be left pending when the loop closes, and destroyed
        with a warning at garbage collection. The next publish binds a loop again.
        """
        with self._lock:
            if self._loop is not asyncio.get_running_loop():
                return
            sender = self._sender
            self._loop, self._queue, self._sender, self._buffers = None, None, None, {}
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            return loop  # the common case, without the lock (a tick hands over thousands)
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                return self._loop
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=_run_until_stopped, args=(loop,), name="publisher", daemon=True
            ).start()
            self._loop, self._queue, self._buffers = loop, None, {}
            # A short-lived process (a command that changes a password, logs a session out)
            # must not exit with that revocation still queued: the daemon thread would die.
            self._private_loops.append(loop)
            if len(self._private_loops) == 1:
                atexit.register(self.close)
        loop.call_soon_threadsafe(self._start_sender)
        return loop

    def drain(self, timeout: float = DRAIN_TIMEOUT_SECONDS) -> bool:
        """Send everything queued (coalesced buffers included); True when it all went out."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return True
        self.flush()
        done = threading.Event()

        async def wait_sent() -> None:
            if self._queue is not None:
                await self._queue.join()
            done.set()

        asyncio.run_coroutine_threadsafe(wait_sent(), loop)
        return done.wait(timeout)

    def close(self) -> None:
        """Send what is queued, then end the loop threads this publisher started (at exit).

        A sender task left pending on a loop that stops is destroyed with an error in the
        process's output; a server's own loop is the server's to stop.
        """
        self.drain()
        while self._private_loops:
            loop = self._private_loops.pop()
            if loop.is_closed() or not loop.is_running():
                continue
            with contextlib.suppress(Exception):  # exiting: a loop already gone is fine
                asyncio.run_coroutine_threadsafe(self._end_private_loop(), loop).result(1)
            loop.call_soon_threadsafe(loop.stop)

    async def _end_private_loop(self) -> None:
        """Cancel every task of the private loop (a sender, also one a later bind orphaned)."""
        await self.unbind_loop()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def _start_sender(self) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._sender = asyncio.get_running_loop().create_task(self._send_forever(self._queue))
        return self._queue

    async def _send_forever(self, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
        layer = get_channel_layer()
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_SEND_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await group_send_many(layer, batch)
                stats.record_published(len(batch))
            except Exception:
                # At-most-once by design: clients detect the gap by seq and resync.
                stats.record_publish_failure(len(batch))
                logger.exception(
                    "sending %d message(s) to the channel layer failed (%s...); "
                    "the gaps will trigger resyncs",
                    len(batch),
                    batch[0][0],
                )
            finally:
                for _ in batch:
                    queue.task_done()

    # --- Called from any thread ----------------------------------------------------------------

    def publish(
        self, user_id: int, event: ChannelEvent | EncodedEvent, *, coalesce: bool = False
    ) -> None:
        """Send `event` to the user's channel group; `coalesce` only for latest-value events."""
        self._hand_over(self._accept, user_id, event, coalesce)

    def publish_many(
        self, events: Sequence[tuple[int, ChannelEvent | EncodedEvent]], *, coalesce: bool = False
    ) -> None:
        """`publish` each (user id, event), in order, in one hand-off: a commit that marked
        thousands of positions wakes the loop once."""
        self._hand_over(self._accept_many, events, coalesce)

    def publish_control(self, user_id: int, payload: dict[str, Any]) -> None:
        """Tell every socket of a user something (a revoked session: logout, deactivation)."""
        message = {"type": CONTROL_MESSAGE_TYPE, **payload}
        self._hand_over(self._enqueue, control_group(user_id), message)

    def _hand_over(self, call: Callable[..., None], *args: Any) -> None:
        loop = self._ensure_loop()
        self._handoff.append((call, args))  # deque.append is atomic
        if not self._wake_pending:
            # Two threads may both get here: the second wake-up finds nothing to do.
            self._wake_pending = True
            loop.call_soon_threadsafe(self._take_handoff)

    def flush(self) -> None:
        """Send every coalesced event now (used at shutdown and in tests)."""
        loop = self._ensure_loop()
        done = threading.Event()

        def flush_all() -> None:
            for key in list(self._buffers):
                self._flush(key)
            self._last_sent.clear()
            done.set()

        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            flush_all()  # waiting here would block the very loop that must do the work
            return
        loop.call_soon_threadsafe(flush_all)
        done.wait(timeout=5)

    # --- On the loop ----------------------------------------------------------------------------

    def _take_handoff(self) -> None:
        # Cleared before taking: a call handed over from now on wakes the loop again.
        self._wake_pending = False
        while self._handoff:
            call, args = self._handoff.popleft()
            try:
                call(*args)
            except Exception:
                logger.exception("publishing failed; the gap will trigger a resync")

    def _enqueue(self, group: str, message: dict[str, Any]) -> None:
        self._start_sender().put_nowait((group, message))

    def _send_event(
        self, user_id: int, event: ChannelEvent | BatchUpdate | EncodedEvent, urgent: bool
    ) -> None:
        now = asyncio.get_running_loop().time()
        if len(self._last_sent) > MAX_THROTTLE_ENTRIES:
            self._last_sent = {
                k: last for k, last in self._last_sent.items() if now - last.sent_at < self._window
            }
        frame = WireFrame.of(event)
        self._last_sent[(user_id, event.channel)] = LastFrame(now, frame.changed_at)
        message = frame.to_message(urgent=urgent)
        self._enqueue(channel_group(user_id, event.channel), message)

    def _accept_many(
        self, events: Sequence[tuple[int, ChannelEvent | EncodedEvent]], coalesce: bool
    ) -> None:
        for user_id, event in events:
            try:
                self._accept(user_id, event, coalesce)
            except Exception:
                logger.exception("publishing failed; the gap will trigger a resync")

    def _accept(self, user_id: int, event: ChannelEvent | EncodedEvent, coalesce: bool) -> None:
        key = (user_id, event.channel)
        if coalesce:
            buffer = self._buffers.get(key)
            if buffer is not None and not buffer.continues(event.seq):
                # The seqs in between were published elsewhere (another process, or a
                # thread whose commit callback is still on its way): a batch from here
                # must not claim to cover them, or the consumer would drop them as old.
                self._flush(key)
                buffer = None
            if buffer is None:
                loop = asyncio.get_running_loop()
                last = self._last_sent.get(key)
                wait = window_wait(last, loop.time(), changed_at_of(event), self._window)
                # A quiet channel (wait <= 0): this change goes out on the loop's next turn
                # with whatever the same hand-off brings for the channel; the ones that
                # follow within the window wait for its end and leave as one frame. A
                # tick's commit marks all of a user's symbols at once: sent on its own, the
                # first would leave at once and the rest a whole window later.
                buffer = self._buffers[key] = CoalescingBuffer()
                loop.call_later(max(wait, 0.0), self._flush_buffer, key, buffer)
            buffer.add(event)
            return
        # Whatever is buffered for this channel has lower seqs: it must go out first.
        self._flush(key)
        self._send_event(user_id, event, urgent=True)

    def _flush_buffer(self, key: tuple[int, str], buffer: CoalescingBuffer) -> None:
        """A window's timer: flush only the buffer it was set for, not a newer one."""
        if self._buffers.get(key) is buffer:
            self._flush(key)

    def _flush(self, key: tuple[int, str]) -> None:
        buffer = self._buffers.pop(key, None)
        if buffer is None:
            return
        received = buffer.count
        frame = buffer.drain()
        if frame is None:
            return
        if isinstance(frame, BatchUpdate):
            sent = len(frame.events)
        else:
            sent = frame.size if isinstance(frame, EncodedEvent) else 1
        stats.record_coalesced(received - sent)
        self._send_event(key[0], frame, urgent=False)


publisher = Publisher()
