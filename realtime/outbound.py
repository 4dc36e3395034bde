"""A socket's outgoing frames: queued by synchronous code, sent in order, and bounded.

Two limits tell a slow client from a fast one:
- the frames queued here and not yet handed to the server (MAX_OUTBOUND_QUEUE_MESSAGES);
- the bytes the server has written and the client has not read (MAX_SOCKET_BACKLOG_BYTES).
  Under daphne send() never waits, so the queue alone never fills: the backlog is in
  Twisted's transport buffer (realtime.daphne_shim reads it).

Past either, the outbox halts: what is queued is dropped, nothing more is accepted (but the
closing `error`, forced), and `on_overflow` is told once, to close the socket with 4008.
"""

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable

from realtime import stats
from realtime.sequencing import Frame
from realtime.wire import WireFrame

# A queued frame: its JSON text, its type, and the domain change's epoch time for latency
# statistics (None for frames the consumer makes: snapshots, pings, errors).
Outbound = tuple[str, str, float | None]


class Outbox:
    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        *,
        max_messages: int,
        max_backlog_bytes: int,
        backlog: Callable[[], int | None] | None,
        on_overflow: Callable[[str], None],
    ) -> None:
        self._send_text = send_text
        self.max_messages = max_messages
        self.max_backlog_bytes = max_backlog_bytes
        self._backlog = backlog
        self._on_overflow = on_overflow
        self._pending: deque[Outbound] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.halted = False

    def put(self, frame: WireFrame | Frame, *, force: bool = False) -> None:
        """Queue a frame; `force` only for the error frame that precedes a close.

        An event arrives as the publisher's JSON text and is sent as it is; a frame the
        consumer made itself is dumped here.
        """
        if self.halted and not force:
            return
        if len(self._pending) >= self.max_messages and not force:
            self._halt(f"{len(self._pending)} frames queued")
            return
        if isinstance(frame, WireFrame):
            self._pending.append((frame.text, frame.type, frame.changed_at))
        else:
            self._pending.append((json.dumps(frame, separators=(",", ":")), frame["type"], None))
        self._idle.clear()
        self._ready.set()

    def backlog_bytes(self) -> int | None:
        return self._backlog() if self._backlog is not None else None

    async def run(self) -> None:
        """The socket's sender task: every queued frame, in order."""
        while True:
            await self._ready.wait()
            while self._pending:
                await self._send(self._pending.popleft())
            self._ready.clear()
            self._idle.set()

    async def flush(self, max_seconds: float) -> None:
        """Wait until everything queued has been handed to the server (at most max_seconds)."""
        try:
            async with asyncio.timeout(max_seconds):
                await self._idle.wait()
        except TimeoutError:
            pass

    async def _send(self, item: Outbound) -> None:
        text, frame_type, changed_at = item
        await self._send_text(text)
        latency = None if changed_at is None else time.time() - changed_at
        stats.record_sent(frame_type, latency)
        if not self.halted:
            backlog = self.backlog_bytes()
            if backlog is not None and backlog > self.max_backlog_bytes:
                self._halt(f"{backlog} bytes unread")

    def _halt(self, why: str) -> None:
        if self.halted:
            return
        self.halted = True
        self._pending.clear()
        self._on_overflow(why)
