"""Drill 3: a server is SIGKILLed while its users trade; the snapshot-consistency property holds.

Two `manage.py serve` processes share the drill's Redis and the test database, as two
daphnes behind a proxy: A serves sockets and REST only, B also works the order queue.
Every user has a tab on each and places random orders (market buys and sells, far limit
buys, cancels) through either server. A is SIGKILLed mid-trading: no close frame, no
drain, events it had committed but not yet published are lost. Trading goes on through
B; A is started again on its port, and its tabs reconnect (full-jitter backoff) and get
fresh snapshots.

At the end (after one more filled order per user, heard on every channel) the property of
docs/architecture.md holds for every tab: the ones that stayed connected to B, the ones
that reconnected to A, and a fresh REST fetch (from either server) are equal, field by
field, seq by seq. Both servers are then back at their baseline and Redis holds no
subscription of this deployment.
"""

import asyncio
import contextlib
import json
import random
import signal
import time
from typing import Any

import httpx
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
TRADE_BEFORE_KILL_SECONDS = 3.0
DEAD_SECONDS = 3.0
TRADE_AFTER_RETURN_SECONDS = 3.0
BACK_WITHIN_SECONDS = 30.0
PRICES = {"AAPL": "200.00", "MSFT": "400.00"}


class Trader:
    """One user's random orders, through A or B; transport errors (A is dead) are counted."""

    def __init__(self, user: int, rest: Rest, servers: list[str]) -> None:
        self.rest = rest
        self.servers = servers
        self.rng = random.Random(user)
        self.open_ids: list[str] = []
        self.placed: list[tuple[float, int]] = []  # (when, status)
        self.transport_errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            base = self.rng.choice(self.servers)
            try:
                await self._act(base)
            except httpx.TransportError:
                self.transport_errors += 1
            await asyncio.sleep(self.rng.uniform(0.1, 0.4))

    async def _act(self, base: str) -> None:
        action = self.rng.choices(["buy", "sell", "limit", "cancel"], [4, 3, 2, 2])[0]
        if action == "cancel" and self.open_ids:
            order_id = self.open_ids.pop(self.rng.randrange(len(self.open_ids)))
            response = await self.rest.cancel(base, order_id)
            self.placed.append((time.monotonic(), response.status_code))
            return
        symbol = self.rng.choice(list(PRICES))
        fields: dict[str, Any] = {"symbol": symbol, "qty": str(self.rng.randint(1, 3))}
        if action == "limit":
            fields.update(side="buy", type="limit", limit_price=str(float(PRICES[symbol]) / 2))
        else:
            fields.update(side="buy" if action == "buy" else "sell")
        response = await self.rest.order(base, **fields)
        self.placed.append((time.monotonic(), response.status_code))
        if response.status_code == 201 and action == "limit":
            self.open_ids.append(str(response.json()["id"]))


async def _drill(
    processes: Processes,
    redis: OwnRedis,
    a: InstrumentedServer,
    b: InstrumentedServer,
    cookies: list[str],
    prefix: str,
) -> dict[str, Any]:
    tabs = [LiveTab(f"u{u}-on-A", u, a.ws_url, a.base_url, c) for u, c in enumerate(cookies)]
    tabs += [LiveTab(f"u{u}-on-B", u, b.ws_url, b.base_url, c) for u, c in enumerate(cookies)]
    rests = [Rest(cookie) for cookie in cookies]
    traders = [Trader(u, rest, [a.base_url, b.base_url]) for u, rest in enumerate(rests)]
    tasks = await start_tabs(tabs)
    got: dict[str, Any] = {"tabs": tabs, "traders": traders}
    stop = asyncio.Event()
    trading = [asyncio.create_task(trader.run(stop)) for trader in traders]
    try:
        await asyncio.sleep(TRADE_BEFORE_KILL_SECONDS)
        # Killed the moment it has committed an order: its events may never leave A.
        await rests[0].order(a.base_url, symbol="MSFT", side="buy")
        killed_at = time.monotonic()
        a.child.kill(signal.SIGKILL)
        await asyncio.sleep(DEAD_SECONDS)
        a2 = start_drill_server(
            processes, "serve-a2", port=a.port, redis_url=redis.url(), prefix=prefix, wait=False
        )
        got["a2"] = a2
        await asyncio.to_thread(a2.wait_ready)
        got["a_back_after_s"] = round(time.monotonic() - killed_at, 1)
        a_tabs = [tab for tab in tabs if tab.ws_url == a.ws_url]
        with contextlib.suppress(TimeoutError):
            await wait_until(
                lambda: all(t.live_since(killed_at) for t in a_tabs),
                BACK_WITHIN_SECONDS,
                "A's tabs live again",
            )
        got["a_tabs_back_after_s"] = sorted(
            round(moment - killed_at, 1) for t in a_tabs if (moment := t.live_since(killed_at))
        )
        await asyncio.sleep(TRADE_AFTER_RETURN_SECONDS)
        stop.set()
        await asyncio.gather(*trading)
        got["trading_s"] = round(time.monotonic() - killed_at + TRADE_BEFORE_KILL_SECONDS, 1)

        # One filled buy per user, through B: every channel has a change the tabs must hear.
        for rest in rests:
            response = await rest.order(b.base_url, symbol="AAPL", side="buy")
            assert response.status_code == 201, response.text
            await rest.wait_order_done(b.base_url, str(response.json()["id"]))
        snapshots = {u: await rest.stable_snapshot(b.base_url) for u, rest in enumerate(rests)}
        seqs = {u: snapshot["seq"] for u, snapshot in snapshots.items()}
        with contextlib.suppress(TimeoutError):
            await wait_until(lambda: not tabs_behind(tabs, seqs), 20, "tabs in sync")
        got["behind"] = tabs_behind(tabs, seqs)
        got["differences"] = [d for t in tabs for d in store_differences(t, snapshots[t.user])]
        from_a = [await rest.snapshot(a2.base_url) for rest in rests]
        got["rest_a_differs"] = [u for u, s in enumerate(from_a) if s != snapshots[u]]
    finally:
        stop.set()
        await stop_tabs(tabs, tasks)
        for rest in rests:
            await rest.close()
    await asyncio.sleep(1.0)
    got["after_b"] = await asyncio.to_thread(b.probe)
    got["after_a2"] = await asyncio.to_thread(got["a2"].probe)
    got["subscriptions_left"] = await asyncio.to_thread(redis.subscriptions, prefix)
    return got


def test_tabs_of_a_killed_server_reconnect_and_every_store_equals_rest(
    drill_processes: Processes,
) -> None:
    for symbol, price in PRICES.items():
        set_price(symbol, price)
    redis = OwnRedis(drill_processes)
    redis.start()
    cookies = [session_cookie(user) for user in make_stream_users(USERS, "killed")]
    prefix = unique_prefix()
    a = start_drill_server(
        drill_processes, "serve-a", port=free_port(), redis_url=redis.url(), prefix=prefix
    )
    b = start_drill_server(
        drill_processes,
        "serve-b",
        port=free_port(),
        redis_url=redis.url(),
        prefix=prefix,
        worker=True,
    )

    got = asyncio.run(_drill(drill_processes, redis, a, b, cookies, prefix))
    tabs, traders = got["tabs"], got["traders"]
    statuses = [status for trader in traders for _, status in trader.placed]
    summary = {
        "requests": len(statuses),
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "transport_errors": sum(trader.transport_errors for trader in traders),
        "gaps_seen": {tab.name: tab.state.gaps for tab in tabs},
        **{k: got[k] for k in ("a_back_after_s", "a_tabs_back_after_s", "trading_s")},
    }
    print("server kill:", json.dumps(summary))

    problems = []
    for tab in tabs:
        on_a = tab.ws_url == a.ws_url
        if on_a and (tab.opens < 2 or tab.close_codes()[:1] != [None]):
            problems.append(f"{tab.name}: opens {tab.opens}, closes {tab.close_codes()}")
        if not on_a and (tab.opens != 1 or tab.closes):
            problems.append(f"{tab.name} did not stay connected: closes {tab.close_codes()}")
    if len(got["a_tabs_back_after_s"]) != USERS:
        problems.append(f"A's tabs back: {got['a_tabs_back_after_s']}")
    if summary["statuses"].get("201", 0) < 10:
        problems.append(f"too little trading to mean anything: {summary}")
    if got["behind"]:
        problems.append(f"behind REST: {got['behind']}")
    problems += got["differences"][:20]
    if got["rest_a_differs"]:
        problems.append(f"REST on A and on B differ for users {got['rest_a_differs']}")
    for name in ("after_b", "after_a2"):
        after = got[name]
        for key in ("connections_active", "consumers", "layer_channels", "layer_groups"):
            if after[key] != 0:
                problems.append(f"{name}: {key} = {after[key]}")
        if after["registry"]["connections"] != 0:
            problems.append(f"{name}: registry {after['registry']}")
    if got["subscriptions_left"]:
        problems.append(f"Redis subscriptions left: {got['subscriptions_left'][:5]}")
    problems += server_errors(b, got["a2"])[:20]
    assert not problems, "\n".join(problems)
