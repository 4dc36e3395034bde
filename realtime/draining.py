"""Server shutdown: every open socket of this process is closed with 1012, in batches.

Each accepted socket registers a callback that makes it send `error` `server_restart` and
close with 1012 (reason "server restarting; reconnect"). `drain()` calls them a batch at a
time, so the clients' reconnects through the proxy to another server are spread out, then
waits until every socket is gone or the grace period ends. A socket opened while draining
is closed the same way right after its accept. realtime.daphne_shim runs `drain()` before
daphne cancels the applications.
"""

import asyncio
import logging
from collections.abc import Callable

from realtime.conf import SHUTDOWN_BATCH_PAUSE_SECONDS, SHUTDOWN_BATCH_SIZE, SHUTDOWN_GRACE_SECONDS

logger = logging.getLogger(__name__)


class Drain:
    def __init__(self) -> None:
        # socket id -> asks that socket to close with 1012
        self._sockets: dict[str, Callable[[], None]] = {}
        # Set when the last socket is gone, while drain() waits for it.
        self._none_left: asyncio.Event | None = None
        self.active = False

    def register(self, socket_id: str, restart: Callable[[], None]) -> None:
        self._sockets[socket_id] = restart
        if self._none_left is not None:
            self._none_left.clear()  # opened while draining: wait for this one too

    def unregister(self, socket_id: str) -> None:
        self._sockets.pop(socket_id, None)
        if not self._sockets and self._none_left is not None:
            self._none_left.set()

    def __len__(self) -> int:
        return len(self._sockets)

    async def drain(
        self,
        *,
        batch_size: int = SHUTDOWN_BATCH_SIZE,
        pause_seconds: float = SHUTDOWN_BATCH_PAUSE_SECONDS,
        grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
    ) -> int:
        """Close every socket with 1012; how many did not finish within the grace period."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_seconds
        self.active = True
        self._none_left = none_left = asyncio.Event()
        pending = list(self._sockets)
        logger.info("shutting down: closing %d socket(s) with 1012", len(pending))
        for start in range(0, len(pending), batch_size):
            for socket_id in pending[start : start + batch_size]:
                restart = self._sockets.get(socket_id)
                if restart is not None:
                    restart()
            await asyncio.sleep(pause_seconds)
        if self._sockets:
            try:
                async with asyncio.timeout_at(deadline):
                    await none_left.wait()
            except TimeoutError:
                pass
        if self._sockets:
            logger.warning(
                "%d socket(s) did not answer the 1012 close in time; cutting them",
                len(self._sockets),
            )
        return len(self._sockets)


# This process's sockets (one event loop per server process).
sockets = Drain()
register = sockets.register
unregister = sockets.unregister


def is_draining() -> bool:
    return sockets.active


async def drain() -> int:
    return await sockets.drain()
