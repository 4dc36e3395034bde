"""Drill 2: Redis dies under a distributed-mode server and comes back empty.

`manage.py serve` with REDIS_URL (the Redis cache and PubSub channel layer, as production
runs) on the drill's own redis-server, which is SIGKILLed while tabs are live and started
again (empty: no persistence) a few seconds later. The contract (docs/architecture.md):

- HTTP keeps serving: the REST reads answer 200 from the database during the outage, and
  an order placed then is accepted (its events are lost with Redis; the seqs show it);
- every socket is told: `error` `unavailable` and close 1013; a tab that reconnects while
  Redis is down gets 1013 again (not a 1011 and a traceback) and backs off;
- after Redis returns every tab reconnects (within its 30 s backoff cap), and its store
  equals a fresh REST snapshot, the order placed during the outage included;
- Redis holds subscriptions of the live sockets only (none re-subscribed for the dead
  ones), and none once every tab has left.
"""

import asyncio
import json
import time
from typing import Any

import pytest

from tests.factories import set_price
from tests.faults.drill_clients import (
    LiveTab,
    Rest,
    start_tabs,
    stop_tabs,
    store_differences,
    tabs_behind,
    wait_until,
)
from tests.faults.drill_support import (
    OwnRedis,
    drill_processes,
    server_errors,
    start_drill_server,
)
from tests.integration.instrumented_server import InstrumentedServer
from tests.integration.live_server import free_port, unique_prefix
from tests.integration.socket_clients import make_stream_users, session_cookie
from tests.processes import Processes

__all__ = ["drill_processes"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

USERS = 3
TABS_PER_USER = 2
OUTAGE_SECONDS = 6.0
# From the kill to every socket's close: the layer failure must be noticed, not waited out.
CLOSED_WITHIN_SECONDS = 10.0
# After Redis returns: the client backoff's 30 s cap, a handshake and the snapshots.
BACK_WITHIN_SECONDS = 40.0
# The REST reads and the page itself.
REST_READS = (
    "/api/account/",
    "/api/positions/",
    "/api/orders/",
    "/api/portfolio/snapshot/",
    "/portfolio/",
)
# Per user: its control group and its three channel groups; per socket: its own channel.
GROUPS_PER_USER = 4


async def _buy_and_wait(rests: list[Rest], base_url: str, symbol: str) -> list[str]:
    statuses = []
    for rest in rests:
        response = await rest.order(base_url, symbol=symbol, side="buy")
        assert response.status_code == 201, response.text
        statuses.append(await rest.wait_order_done(base_url, str(response.json()["id"])))
    return statuses


async def _settle(
    tabs: list[LiveTab], rests: list[Rest], base_url: str, timeout: float
) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Stable REST snapshots per user; the tabs still behind them after `timeout`."""
    snapshots = {user: await rest.stable_snapshot(base_url) for user, rest in enumerate(rests)}
    seqs = {user: snapshot["seq"] for user, snapshot in snapshots.items()}
    try:
        await wait_until(lambda: not tabs_behind(tabs, seqs), timeout, "tabs in sync")
    except TimeoutError:
        pass
    return snapshots, tabs_behind(tabs, seqs)


async def _outage(
    redis: OwnRedis, server: InstrumentedServer, cookies: list[str], prefix: str
) -> dict[str, Any]:
    base = server.base_url
    tabs = [
        LiveTab(f"u{user}t{n}", user, server.ws_url, base, cookie)
        for user, cookie in enumerate(cookies)
        for n in range(TABS_PER_USER)
    ]
    rests = [Rest(cookie) for cookie in cookies]
    tasks = await start_tabs(tabs)
    got: dict[str, Any] = {"tabs": tabs}
    try:
        await _buy_and_wait(rests, base, "AAPL")
        _, behind = await _settle(tabs, rests, base, 10)
        assert not behind, f"events did not flow before the outage: {behind}"

        killed_at = time.monotonic()
        await asyncio.to_thread(redis.kill)
        statuses: dict[str, list[int]] = {path: [] for path in REST_READS}
        orders: list[tuple[int, str | None]] = []
        closed_wait = None
        while time.monotonic() - killed_at < OUTAGE_SECONDS or closed_wait is None:
            for path in REST_READS:
                statuses[path].append((await rests[0].get(f"{base}{path}")).status_code)
            if not orders:  # one change per user that no socket can hear
                for rest in rests:
                    response = await rest.order(base, symbol="MSFT", side="buy")
                    created = response.status_code == 201
                    orders.append(
                        (response.status_code, response.json()["id"] if created else None)
                    )
            if closed_wait is None and all(tab.close_codes(killed_at) for tab in tabs):
                closed_wait = time.monotonic() - killed_at
            if closed_wait is None and time.monotonic() - killed_at > CLOSED_WITHIN_SECONDS:
                closed_wait = float("inf")
            await asyncio.sleep(0.5)
        got["rest_during_outage"] = statuses
        got["orders_during_outage"] = [status for status, _ in orders]
        got["closed_within_s"] = closed_wait
        got["first_close_after_kill"] = {t.name: t.close_codes(killed_at)[:1] for t in tabs}
        during = [code for t in tabs for code in t.close_codes(killed_at)]
        got["closes_during_outage"] = {
            str(c): during.count(c) for c in sorted(set(during), key=str)
        }

        await asyncio.to_thread(redis.start)
        back_at = time.monotonic()
        got["outage_s"] = round(back_at - killed_at, 1)
        try:
            await wait_until(lambda: all(t.live for t in tabs), BACK_WITHIN_SECONDS, "tabs live")
        except TimeoutError:
            pass
        got["reconnected_after_s"] = sorted(
            round(moment - back_at, 1) for t in tabs if (moment := t.live_since(back_at))
        )
        got["not_live"] = {
            t.name: {
                "closes_since_return": [
                    (round(when - back_at, 1), code) for when, code in t.closes if when >= back_at
                ],
                "errors": t.errors[-3:],
                "opens": t.opens,
                "failed_handshakes": t.failed_attempts,
                "history": [(round(when - back_at, 1), what) for when, what in t.history][-8:],
            }
            for t in tabs
            if not t.live
        }
        for (_, order_id), rest in zip(orders, rests, strict=True):
            if order_id:
                await rest.wait_order_done(base, str(order_id))
        await _buy_and_wait(rests, base, "AAPL")  # one change on every channel, heard
        snapshots, got["behind"] = await _settle(tabs, rests, base, 20)
        got["differences"] = [d for t in tabs for d in store_differences(t, snapshots[t.user])]
        got["subscriptions_live"] = len(await asyncio.to_thread(redis.subscriptions, prefix))
        got["subscriptions_expected"] = len(tabs) + GROUPS_PER_USER * len(rests)
    finally:
        await stop_tabs(tabs, tasks)
        for rest in rests:
            await rest.close()
    await asyncio.sleep(1.0)
    got["subscriptions_left"] = await asyncio.to_thread(redis.subscriptions, prefix)
    got["after"] = await asyncio.to_thread(server.probe)
    return got


def test_http_serves_sockets_close_1013_and_recover_equal_to_rest(
    drill_processes: Processes,
) -> None:
    set_price("AAPL", "200.00")
    set_price("MSFT", "400.00")
    redis = OwnRedis(drill_processes)
    redis.start()
    cookies = [session_cookie(user) for user in make_stream_users(USERS, "outage")]
    prefix = unique_prefix()
    server = start_drill_server(
        drill_processes,
        "serve",
        port=free_port(),
        redis_url=redis.url(),
        prefix=prefix,
        worker=True,
    )

    got = asyncio.run(_outage(redis, server, cookies, prefix))
    report = {k: v for k, v in got.items() if k not in ("tabs", "after")}
    print("redis outage:", json.dumps(report, default=str))

    problems = []
    for path, statuses in got["rest_during_outage"].items():
        if set(statuses) != {200}:
            problems.append(f"GET {path} during the outage answered {statuses}")
    if got["orders_during_outage"] != [201] * USERS:
        problems.append(f"orders during the outage: {got['orders_during_outage']}")
    if got["closed_within_s"] > CLOSED_WITHIN_SECONDS:
        problems.append(f"not every socket was closed within {CLOSED_WITHIN_SECONDS}s of the kill")
    wrong = {
        name: codes for name, codes in got["first_close_after_kill"].items() if codes != [1013]
    }
    if wrong:
        problems.append(f"first close after the kill was not 1013: {wrong}")
    if set(got["closes_during_outage"]) != {"1013"}:
        problems.append(f"reconnects during the outage closed with {got['closes_during_outage']}")
    if got["not_live"]:
        problems.append(f"not live {BACK_WITHIN_SECONDS}s after Redis returned: {got['not_live']}")
    if got["behind"]:
        problems.append(f"behind REST: {got['behind']}")
    problems += got["differences"][:20]
    if got["subscriptions_live"] > got["subscriptions_expected"]:
        problems.append(
            f"Redis holds {got['subscriptions_live']} subscriptions for "
            f"{got['subscriptions_expected']} live names (dead sockets re-subscribed)"
        )
    if got["subscriptions_left"]:
        problems.append(f"subscriptions left after every tab left: {got['subscriptions_left'][:5]}")
    after = got["after"]
    for key in ("connections_active", "consumers", "layer_channels", "layer_groups"):
        if after[key] != 0:
            problems.append(f"after the tabs left, the server has {key} = {after[key]}")
    if not server.child.alive():
        problems.append("the server died")
    errors = server_errors(server)
    print(f"{len(errors)} error lines in the server log (the outage's own included)")
    problems += [line for line in errors if "Exception inside application" in line][:5]
    failed_connects = sum("handling websocket.connect failed" in line for line in errors)
    if failed_connects:
        problems.append(f"{failed_connects} socket connects raised (logged with a traceback)")
    assert not problems, "\n".join(problems)
