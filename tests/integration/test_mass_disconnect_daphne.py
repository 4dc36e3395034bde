"""Hundreds of subscribed sockets vanish at once, without close frames, while events flow.

Against a real `manage.py serve` (daphne) on Redis: afterwards the server must be back at
its baseline. No open connection counted, nothing in the socket registry, the channel
layer's group and channel maps empty, Redis without a subscription of a dead socket
(PUBSUB CHANNELS / NUMSUB), no consumer object or task left, memory flat over a second
round, and none of daphne's "took too long to shut down and was killed" or asyncio's
"Task was destroyed but it is pending!".
"""

import asyncio
import time
from typing import Any

import pytest

from realtime.groups import channel_group, control_group
from tests.integration.instrumented_server import InstrumentedServer, start_instrumented
from tests.integration.live_server import unique_prefix
from tests.integration.socket_clients import (
    CHANNELS,
    EventSource,
    make_stream_users,
    open_socket,
    processes,
    pubsub_channels,
    pubsub_numsub,
    redis_url,
    session_cookie,
    subscribe,
)
from tests.processes import Processes

__all__ = ["processes", "redis_url"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

USERS = 50
SOCKETS_PER_USER = 8  # 400 sockets
EVENTS_PER_SECOND = 200.0  # group_sends; each reaches the user's 8 sockets
SETTLE_SECONDS = 15.0
# A second round of 400 sockets may not grow the server by more than this.
MAX_RSS_GROWTH_KIB = 12 * 1024


async def _probe(server: InstrumentedServer) -> dict[str, Any]:
    return await asyncio.to_thread(server.probe)


async def _open_all(server: InstrumentedServer, cookies: list[str]) -> list[Any]:
    async def one(cookie: str) -> Any:
        # max_queue=None: the client library reads everything, as a live page would.
        ws = await open_socket(server, cookie, max_queue=None)
        await subscribe(ws)
        return ws

    sockets: list[Any] = []
    for start in range(0, len(cookies), 50):
        sockets += await asyncio.gather(*(one(c) for c in cookies[start : start + 50]))
    return sockets


async def _round(
    server: InstrumentedServer, cookies: list[str], source: EventSource, user_ids: list[int]
) -> dict[str, float]:
    """Open and subscribe every socket, stream events, kill every client at once."""
    started = time.monotonic()
    sockets = await _open_all(server, cookies)
    opened = await _probe(server)
    assert opened["connections_active"] == len(cookies), opened
    stop = asyncio.Event()
    streaming = asyncio.create_task(source.stream(user_ids, EVENTS_PER_SECOND, stop=stop))
    await asyncio.sleep(1.5)
    killed_at = time.monotonic()
    for ws in sockets:
        ws.transport.abort()  # no close frame: the TCP connection just goes away
    await asyncio.sleep(1.0)  # events keep flowing to the dead sockets' groups
    stop.set()
    await streaming
    deadline = killed_at + SETTLE_SECONDS
    while True:
        state = await _probe(server)
        if state["connections_active"] == 0 and state["consumers"] == 0:
            break
        assert time.monotonic() < deadline, f"not settled after {SETTLE_SECONDS}s: {state}"
        await asyncio.sleep(0.25)
    return {
        "open_seconds": killed_at - started - 1.5,
        "settle_seconds": time.monotonic() - killed_at,
    }


def test_mass_abrupt_disconnect_returns_the_server_to_baseline(
    processes: Processes, redis_url: str
) -> None:
    users = make_stream_users(USERS)
    user_ids = [user.pk for user in users]
    cookies = [session_cookie(user) for user in users for _ in range(SOCKETS_PER_USER)]
    prefix = unique_prefix()
    server = start_instrumented(processes, "serve", redis_url=redis_url, prefix=prefix)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, float]]]:
        source = EventSource(redis_url, prefix)
        try:
            # Warm up: the first socket starts the process-wide tasks (rollout watcher,
            # the layer's Redis reader); the baseline is taken with them running.
            async with open_socket(server, cookies[0]) as ws:
                await subscribe(ws)
            await asyncio.sleep(0.5)
            states = [await _probe(server)]
            timings = []
            for _ in range(2):
                timings.append(await _round(server, cookies, source, user_ids))
                await asyncio.sleep(0.5)  # the batched UNSUBSCRIBEs
                states.append(await _probe(server))
            return states, timings
        finally:
            await source.close()

    (baseline, after_first, after_second), timings = asyncio.run(scenario())
    redis_left = pubsub_channels(redis_url, prefix)
    group_names = [
        f"{prefix}__group__{group}"
        for uid in user_ids
        for group in [control_group(uid)] + [channel_group(uid, c) for c in CHANNELS]
    ]
    subscribers = pubsub_numsub(redis_url, group_names)
    print(
        f"{len(cookies)} sockets x 2 rounds: {timings}; RSS baseline "
        f"{baseline['rss_kib']} KiB, after round 1 {after_first['rss_kib']} KiB, after round "
        f"2 {after_second['rss_kib']} KiB; tasks {baseline['task_count']} -> "
        f"{after_second['task_count']}"
    )

    for after in (after_first, after_second):
        assert after["connections_active"] == 0
        assert after["registry"]["connections"] == 0
        assert after["draining_sockets"] == 0
        assert after["consumers"] == 0
        assert after["layer_channels"] == baseline["layer_channels"] == 0, after
        assert after["layer_groups"] == baseline["layer_groups"] == 0, after
        assert after["layer_subscribed"] == 0
        assert after["pending_unsubscribes"] == 0
        assert after["tasks"] == baseline["tasks"], (baseline["tasks"], after["tasks"])
    assert redis_left == [], redis_left[:10]
    assert set(subscribers.values()) == {0}
    assert after_second["rss_kib"] - after_first["rss_kib"] < MAX_RSS_GROWTH_KIB
    log = server.child.output()
    assert "took too long to shut down" not in log
    assert "Task was destroyed" not in log
    assert "Traceback" not in log
