"""A socket's outgoing frames: queued by synchronous code, sent in order, and bounded.

Two limits tell a slow client from a fast one:
- the frames queued here and not yet handed to the server (MAX_OUTBOUND_QUEUE_MESSAGES);
- the bytes the server has written and the client has not read (MAX_SOCKET_BACKLOG_BYTES).
  Under daphne send() never waits, so the queue alone never fills: the backlog is in
  Twisted's transport buffer (realtime.daphne_shim reads it).

Past either, the outbox halts: what is queued is dropped, nothing more is accepted (but the
closing `error`, forced), and `on_overflow` is told once, to close the socket with 4008.

Under daphne the shim also gives a synchronous send (`send_now`): a frame is written to
the transport when it is put, with no queue, task or coroutine per frame. Elsewhere (the
ASGI `send` of tests and other servers) a sender task drains the queue, and exists only
while frames are queued: an idle socket holds no task here.
"""

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from realtime import stats
from realtime.sequencing import Frame
from realtime.wire import WireFrame

# A queued frame: its JSON text, its type, and the domain change's epoch time for latency
# statistics (None for frames the consumer makes: snapshots, pings, errors).
Outbound = tuple[str, str, float | None]
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None] | None"]


class Outbox:
    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        *,
        spawn: Spawn,
        max_messages: int,
        max_backlog_bytes: int,
        backlog: Callable[[], int | None] | None,
        on_overflow: Callable[[str], None],
        send_now: Callable[[str], bool] | None = None,
    ) -> None:
        self._send_text = send_text
        self._send_now = send_now
        self._spawn = spawn
        self.max_messages = max_messages
        self.max_backlog_bytes = max_backlog_bytes
        self._backlog = backlog
        self._on_overflow = on_overflow
        # Made when first needed: under daphne (send_now) nothing is ever queued.
        self._pending: deque[Outbound] | None = None
        self._sender: asyncio.Task[None] | None = None
        self.halted = False

    def put(self, frame: WireFrame | Frame, *, force: bool = False) -> None:
        """Send (or queue) a frame; `force` only for the error frame that precedes a close.

        An event arrives as the publisher's JSON text and is sent as it is; a frame the
        consumer made itself is dumped here.
        """
        if self.halted and not force:
            return
        if isinstance(frame, WireFrame):
            item: Outbound = (frame.text, frame.type, frame.changed_at)
        else:
            item = (json.dumps(frame, separators=(",", ":")), frame["type"], None)
        if self._send_now is not None:
            # False: the connection is gone; its disconnect is on its way to the consumer.
            if self._send_now(item[0]):
                self._sent(item)
            return
        if self._pending is None:
            self._pending = deque()
        if len(self._pending) >= self.max_messages and not force:
            self._halt(f"{len(self._pending)} frames queued")
            return
        self._pending.append(item)
        if self._sender is None:
            self._sender = self._spawn(self._drain())

    def backlog_bytes(self) -> int | None:
        return self._backlog() if self._backlog is not None else None

    async def flush(self, max_seconds: float) -> None:
        """Wait until everything queued has been handed to the server (at most max_seconds)."""
        if self._sender is not None:
            await asyncio.wait({self._sender}, timeout=max_seconds)

    async def _drain(self) -> None:
        try:
            while self._pending:
                item = self._pending.popleft()
                await self._send_text(item[0])
                self._sent(item)
        finally:
            # No await between the last look at the queue and here: a put() after it
            # starts a new sender.
            self._sender = None

    def _sent(self, item: Outbound) -> None:
        _, frame_type, changed_at = item
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
        if self._pending is not None:
            self._pending.clear()
        self._on_overflow(why)
