"""The staging smoke test: the checks `make staging` runs across a whole deployment.

    python -m tests.staging.smoke --web http://127.0.0.1:A --web http://127.0.0.1:B

scripts/staging.sh starts every role (two daphne processes, the order worker, the simulated
market, position sync, the broker stream) on PostgreSQL and Redis and runs this module with
the same environment; it creates its own users in the deployment's database, then checks:

1. an order POSTed to daphne B reaches a socket on daphne A (order_update, trade_executed);
2. /api/admin/websocket-stats/ on either daphne sums the sockets of both, and lists every
   process by role;
3. `manage.py rollout realtime_portfolio --off` closes the sockets on both daphnes with
   4403 within 5 s, and `--everyone` lets them back in;
4. a short load run (tests/staging/load.py): sockets across both daphnes, orders at a
   steady rate, POST -> trade_executed latency.

Exits non-zero on the first failed check.
"""

import argparse
import asyncio
import functools
import logging
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import django

from tests.integration.live_server import login
from tests.processes import MANAGE_PY, REPO_ROOT
from tests.staging.clients import http_ready, open_socket, post_order, stats, wait_until
from tests.staging.load import LoadPlan, run_load

ROLES = {"web", "worker", "market", "broker_stream"}
ROLLOUT_CLOSE_BUDGET_SECONDS = 5.0
FLAG = "realtime_portfolio"


@dataclass(frozen=True)
class Users:
    trader: str
    staff: str
    load: list[str]
    password: str


def seed(load_users: int) -> Users:
    """A trader, a staff user and the load run's traders, each new to this run."""
    from django.contrib.auth import get_user_model

    from trading.services.accounts import account_open_simulated

    run = secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    users = get_user_model().objects

    def trader(name: str) -> str:
        user = users.create_user(username=name, password=password)
        account_open_simulated(user=user, cash=Decimal("10000000.00"))
        return name

    staff = users.create_user(username=f"staging-staff-{run}", password=password, is_staff=True)
    return Users(
        trader=trader(f"staging-trader-{run}"),
        staff=str(staff.username),
        load=[trader(f"staging-load-{run}-{i}") for i in range(load_users)],
        password=password,
    )


def rollout(*args: str) -> tuple[float, float]:
    """Run `manage.py rollout realtime_portfolio ARGS` as an operator would; (start, end)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(MANAGE_PY), "rollout", FLAG, *args],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"rollout {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return started, time.perf_counter()


def ok(message: str) -> None:
    print(f"  ok  {message}", flush=True)


async def check_cross_server_delivery(users: Users, web: list[str]) -> None:

    a, b = web
    session = await login(a, users.trader, users.password)
    socket = await open_socket(a, session)
    try:
        sent = time.perf_counter()
        order_id = await post_order(session, b, "AAPL")
        await socket.wait_for(
            lambda e: e["type"] == "order_update" and e["data"]["id"] == order_id,
            timeout=10,
            what=f"order_update of {order_id}",
        )
        arrived, _ = await socket.wait_for(
            lambda e: e["type"] == "trade_executed" and e["data"]["order_id"] == order_id,
            timeout=10,
            what=f"trade_executed of {order_id}",
        )
    finally:
        await socket.close()
        await session.client.aclose()
    ok(
        f"order POSTed to {b} -> order_update and trade_executed on a socket of {a} "
        f"in {1000 * (arrived - sent):.0f} ms"
    )


def _web_sockets(document: dict[str, Any]) -> list[int]:
    return sorted(p["activeConnections"] for p in document["processes"] if p["role"] == "web")


def _sums_three_sockets_of_every_role(document: dict[str, Any]) -> bool:
    roles = {p["role"] for p in document["processes"]}
    return (
        document["activeConnections"] == 3 and _web_sockets(document) == [1, 2] and ROLES <= roles
    )


async def check_stats_sum_both_servers(users: Users, web: list[str]) -> None:

    a, b = web
    staff = await login(b, users.staff, users.password)
    trader = await login(a, users.trader, users.password)
    sockets = [
        await open_socket(a, trader),
        await open_socket(b, trader),
        await open_socket(b, trader),
    ]
    try:
        for base in web:
            document = await wait_until(
                functools.partial(stats, staff, base),
                _sums_three_sockets_of_every_role,
                timeout=15,
                what=f"3 sockets (1 on A, 2 on B) and every role in the stats of {base}",
            )
            roles = [p["role"] for p in document["processes"]]
            assert roles.count("web") == 2, roles
            stale = [p for p in document["processes"] if p["lastReportAgeSeconds"] > 5]
            assert not stale, f"processes not reporting: {stale}"
        ok(f"stats on both daphnes: 3 sockets = 1 + 2; processes {sorted(roles)}")
    finally:
        for socket in sockets:
            await socket.close()
        await staff.client.aclose()
        await trader.client.aclose()


async def check_kill_switch(users: Users, web: list[str]) -> None:

    trader = await login(web[0], users.trader, users.password)
    try:
        sockets = [await open_socket(base, trader) for base in web]
        started, done = await asyncio.to_thread(rollout, "--off")
        codes = [await s.wait_closed(ROLLOUT_CLOSE_BUDGET_SECONDS) for s in sockets]
        assert codes == [4403, 4403], f"close codes after --off: {codes} (None: still open)"
        closed = max(s.closed_at or 0.0 for s in sockets)
        snapshot = (await trader.client.get(f"{web[1]}/api/portfolio/snapshot/")).json()
        assert snapshot["realtime_enabled"] is False, snapshot.get("realtime_enabled")
        ok(
            f"rollout --off: both daphnes closed their sockets with 4403, {closed - done:+.1f} s "
            f"after the command returned ({closed - started:.1f} s after it started)"
        )

        await asyncio.to_thread(rollout, "--everyone")
        snapshot = (await trader.client.get(f"{web[1]}/api/portfolio/snapshot/")).json()
        assert snapshot["realtime_enabled"] is True, snapshot.get("realtime_enabled")
        again = [await open_socket(base, trader) for base in web]  # subscribe = snapshots
        for socket in again:
            await socket.close()
        ok("rollout --everyone: sockets on both daphnes subscribe again")
    finally:
        await trader.client.aclose()


async def run(users: Users, web: list[str], options: argparse.Namespace) -> None:

    for base in web:
        await asyncio.to_thread(http_ready, base)
    await asyncio.to_thread(rollout, "--everyone")
    await check_cross_server_delivery(users, web)
    await check_stats_sum_both_servers(users, web)
    await check_kill_switch(users, web)
    plan = LoadPlan(
        sockets=options.sockets,
        orders_per_second=options.orders_per_second,
        seconds=options.seconds,
    )
    await run_load(plan, users.load, users.password, users.staff, web)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.staging.smoke")
    parser.add_argument("--web", action="append", required=True, help="a daphne's base URL")
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--orders-per-second", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--load-users", type=int, default=10)
    options = parser.parse_args(argv)
    if len(options.web) != 2:
        parser.error("give exactly two --web servers")
    django.setup()
    # The settings log at INFO; one line per request of this client would bury the results.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    users = seed(options.load_users)
    print(f"staging smoke test against {', '.join(options.web)}", flush=True)
    try:
        asyncio.run(run(users, options.web, options))
    except AssertionError as failure:
        print(f"  FAIL {failure}", flush=True)
        return 1
    print("staging smoke test: every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
