"""A channel's mailbox in the Redis layer: messages kept for receive(), or handed over."""

import asyncio
import logging
from collections import deque
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Mailbox:
    """What the layer keeps per channel: messages for a later `get()`, as channels-redis's
    `asyncio.Queue` did (one reader per channel), or a consumer's callback for each one."""

    __slots__ = ("_items", "_waiter", "deliver")

    def __init__(self) -> None:
        self._items: deque[bytes] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.deliver: Callable[[bytes], None] | None = None

    def put_nowait(self, data: bytes) -> None:
        if self.deliver is not None:
            try:
                self.deliver(data)
            except Exception:
                # Called from the shard's receive loop: one consumer must not stop it.
                logger.exception("a consumer failed to take a channel-layer message")
            return
        if self._items is None:
            self._items = deque()
        self._items.append(data)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> bytes:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def qsize(self) -> int:
        return len(self._items or ())
