"""The server's heartbeat: a ping every interval, and a close when the client went quiet."""

import asyncio
from collections.abc import Awaitable, Callable


async def heartbeat_forever(
    *,
    interval: float,
    idle_timeout: float,
    last_heard: Callable[[], float],
    ping: Callable[[], None],
    on_idle: Callable[[], Awaitable[None]],
) -> None:
    """Ping every `interval`; after `idle_timeout` without a client frame, `on_idle` and stop.

    Any client frame counts (a `pong`, a `ping`, a subscribe), read through `last_heard`
    (the loop's clock), so a busy client needs no extra traffic.
    """
    loop = asyncio.get_running_loop()
    next_ping = loop.time() + interval
    while True:
        idle_deadline = last_heard() + idle_timeout
        await asyncio.sleep(max(0.0, min(next_ping, idle_deadline) - loop.time()))
        now = loop.time()
        if now >= last_heard() + idle_timeout:
            await on_idle()
            return
        if now >= next_ping:
            ping()
            next_ping = now + interval
