"""The staging load run: sockets spread over both daphnes, orders at a steady rate, latencies.

Socket j belongs to load user j mod U and connects to daphne j mod 2; order k is user
k mod U's market buy, POSTed to daphne k mod 2 at t0 + k / rate. An order's latency is from
just before its POST to the first of its user's sockets receiving the trade_executed; every
socket of that user must receive it.
"""

import asyncio
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass

from tests.integration.live_server import Session, login
from tests.staging.clients import Socket, open_socket, post_order, stats, wait_until

SYMBOLS = ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM")
# How long an order's trade may take to arrive. Not a latency target: on a busy 2-core
# machine the single order worker falls behind 10 orders/s and the queue adds seconds.
# The percentiles are printed; what fails the run is a trade that never arrives.
DELIVERY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class LoadPlan:
    sockets: int
    orders_per_second: float
    seconds: float


@dataclass(frozen=True)
class Sent:
    user: str
    order_id: str
    at: float


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _open_all(
    plan: LoadPlan, users: list[str], sessions: dict[str, Session], web: list[str]
) -> dict[str, list[Socket]]:
    by_user: dict[str, list[Socket]] = {user: [] for user in users}
    gate = asyncio.Semaphore(10)

    async def one(j: int) -> None:
        user = users[j % len(users)]
        async with gate:
            by_user[user].append(await open_socket(web[j % 2], sessions[user]))

    await asyncio.gather(*(one(j) for j in range(plan.sockets)))
    return by_user


async def _send_orders(
    plan: LoadPlan, users: list[str], sessions: dict[str, Session], web: list[str]
) -> list[Sent]:
    count = round(plan.orders_per_second * plan.seconds)
    start = time.perf_counter()

    async def one(k: int) -> Sent:
        await asyncio.sleep(max(0.0, start + k / plan.orders_per_second - time.perf_counter()))
        user = users[k % len(users)]
        sent = time.perf_counter()
        order_id = await post_order(sessions[user], web[k % 2], SYMBOLS[k % len(SYMBOLS)])
        return Sent(user, order_id, sent)

    return list(await asyncio.gather(*(one(k) for k in range(count))))


async def _latency(sent: Sent, sockets: list[Socket]) -> float:
    arrivals = await asyncio.gather(
        *(
            socket.wait_for(
                lambda e: e["type"] == "trade_executed" and e["data"]["order_id"] == sent.order_id,
                timeout=DELIVERY_TIMEOUT_SECONDS,
                what=f"trade_executed of {sent.order_id}",
            )
            for socket in sockets
        )
    )
    return 1000.0 * (min(arrived for arrived, _ in arrivals) - sent.at)


async def run_load(
    plan: LoadPlan, users: list[str], password: str, staff_name: str, web: list[str]
) -> None:
    sessions = {u: await login(web[i % 2], u, password) for i, u in enumerate(users)}
    staff = await login(web[0], staff_name, password)
    by_user = await _open_all(plan, users, sessions, web)
    sockets = [socket for group in by_user.values() for socket in group]
    try:
        await wait_until(
            lambda: stats(staff, web[1]),
            lambda d: d["activeConnections"] == plan.sockets,
            timeout=10,
            what=f"activeConnections {plan.sockets} during the load run",
        )
        frames_before = sum(len(s.frames) for s in sockets)
        bytes_before = sum(s.bytes_received for s in sockets)
        started = time.perf_counter()
        orders = await _send_orders(plan, users, sessions, web)
        queue = (await stats(staff, web[0]))["orderQueue"]
        latencies = await asyncio.gather(*(_latency(o, by_user[o.user]) for o in orders))
        elapsed = time.perf_counter() - started
        closed = [s for s in sockets if s.closed_at is not None]
        assert not closed, f"{len(closed)} sockets closed during the load run"
        frames = sum(len(s.frames) for s in sockets) - frames_before
        received = sum(s.bytes_received for s in sockets) - bytes_before
        types = Counter(f["type"] for s in sockets for arrived, f in s.frames if arrived >= started)
        server = (await stats(staff, web[1]))["latency"]
    finally:
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        for session in [*sessions.values(), staff]:
            await session.client.aclose()

    p50, p95, p99 = (percentile(latencies, q) for q in (0.50, 0.95, 0.99))
    print(
        f"  load: {plan.sockets} sockets over 2 daphnes, {len(users)} users, "
        f"{len(orders)} orders at {plan.orders_per_second:g}/s for {plan.seconds:g} s "
        f"({elapsed:.1f} s with the drain)\n"
        f"  load: POST -> trade_executed p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"p99 {p99:.0f} ms, max {max(latencies):.0f} ms, mean {statistics.mean(latencies):.0f} ms\n"
        f"  load: {frames} frames ({received / 1024:.0f} KiB) received, "
        f"{types['trade_executed']} trade_executed = {len(orders)} orders x "
        f"{plan.sockets // len(users)} sockets each; by type {dict(sorted(types.items()))}\n"
        f"  load: order queue at the last POST: {queue['queued']} queued, oldest "
        f"{queue['oldestQueuedAgeSeconds']} s; server-side change -> frame sent "
        f"p50 {server['p50']} ms, p95 {server['p95']} ms, p99 {server['p99']} ms (5 min)",
        flush=True,
    )
    print("  ok  load run: every trade_executed reached every socket of its user", flush=True)
