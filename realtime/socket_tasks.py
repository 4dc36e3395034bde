"""A socket's background tasks and timers: tracked, logged when they fail, cancelled at close."""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class SocketTasks:
    """Everything a socket runs besides its handlers; `cancel_all()` is synchronous, so a
    `finally` can call it even when the consumer itself is being cancelled."""

    def __init__(self, on_failure: Callable[[BaseException], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._on_failure = on_failure
        self.closed = False

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        if self.closed:
            coroutine.close()
            return None
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def later(self, delay: float, callback: Callable[..., None], *args: Any) -> None:
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        # Keep only pending timers: fired ones would pile up over a long session.
        now = loop.time()
        self._timers = [t for t in self._timers if not t.cancelled() and t.when() > now]
        self._timers.append(loop.call_later(delay, callback, *args))

    def cancel_all(self) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for timer in self._timers:
            timer.cancel()
        self._tasks.clear()
        self._timers.clear()

    def __len__(self) -> int:
        return len(self._tasks)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        logger.error("socket task %s failed", task.get_coro(), exc_info=error)
        if self._on_failure is not None and not self.closed:
            self._on_failure(error)
