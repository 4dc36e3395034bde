"""The server's heartbeat: a ping every interval, and a close when the client went quiet."""

import asyncio
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Heartbeat:
    """Ping every `interval`; after `idle_timeout` without a client frame, `on_idle` once.

    Any client frame counts (a `pong`, a `ping`, a subscribe), read through `last_heard`
    (the loop's clock), so a busy client needs no extra traffic. It runs on one event-loop
    timer per socket, not a task: an idle socket's suspended task and coroutine cost about
    1.5 KiB, a timer handle a tenth of that (tests/load/bench_memory.py).
    """

    def __init__(
        self,
        *,
        interval: float,
        idle_timeout: float,
        last_heard: Callable[[], float],
        ping: Callable[[], None],
        on_idle: Callable[[], None],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        self.interval = interval
        self.idle_timeout = idle_timeout
        self._last_heard = last_heard
        self._ping = ping
        self._on_idle = on_idle
        self._on_failure = on_failure
        self._loop = asyncio.get_running_loop()
        self._next_ping = self._loop.time() + interval
        self._timer: asyncio.TimerHandle | None = None
        self._schedule()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def _schedule(self) -> None:
        due = min(self._next_ping, self._last_heard() + self.idle_timeout)
        self._timer = self._loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self._timer = None
        try:
            now = self._loop.time()
            if now >= self._last_heard() + self.idle_timeout:
                self._on_idle()
                return
            if now >= self._next_ping:
                self._ping()
                self._next_ping = now + self.interval
            self._schedule()
        except Exception as error:
            # A task's failure would have reached SocketTasks; a timer's reaches us.
            logger.exception("socket heartbeat failed")
            self._on_failure(error)
