"""The stream end to end: real `manage.py serve` processes (daphne), Redis, a browser's login.

A user logs in through the login form (httpx), opens /ws/portfolio with the session
cookie (the `websockets` client), posts an order through the REST API with the CSRF
header, and sees it come back over the socket: the order filled, the trade at its exact
price, the position at its exact quantity, all within 2 s. With two server processes, a
socket on one hears an order placed through the other: the Redis PubSub layer carries
events across processes.
"""

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.factories import make_account, set_price
from tests.integration.live_server import (
    FrameLog,
    LiveServer,
    Session,
    events_of,
    live_redis_url,
    login,
    start_server,
    unique_prefix,
)
from tests.processes import Processes
from trading.models import BrokerAccount

# Committed rows (transaction=True), or the servers would not see them; serialized_rollback
# restores the migrations' seed rows (instruments, the rollout flag) for the next test.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-1"
CHANNELS = ["positions", "orders", "account"]
# From the POST to the last of order filled, trade and position on the socket.
EVENT_DEADLINE_SECONDS = 2.0
LATENCY_ORDERS = 5


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    try:
        yield group
    finally:
        print(group.logs())  # pytest shows it only when the test failed
        group.close()


@pytest.fixture
def redis_url() -> str:
    return live_redis_url()


@pytest.fixture
def trader() -> BrokerAccount:
    set_price("AAPL", "200.00")
    return make_account("live-trader")


def _serve(
    processes: Processes, name: str, *, redis_url: str, prefix: str, **kw: Any
) -> LiveServer:
    server = start_server(processes, name, redis_url=redis_url, prefix=prefix, **kw)
    print(f"{name} answered HTTP after {server.wait_ready():.1f}s on port {server.port}")
    return server


def _open_socket(server: LiveServer, session: Session | None, origin: str | None = None) -> Any:
    headers = {"Origin": origin or server.base_url}
    if session is not None:
        headers["Cookie"] = session.cookie_header
    return connect(server.ws_url, additional_headers=headers, proxy=None, open_timeout=10)


async def _subscribe(ws: ClientConnection) -> FrameLog:
    log = FrameLog(ws)
    await ws.send(json.dumps({"type": "subscribe", "channels": CHANNELS}))
    await log.wait_for(lambda f: f["type"] == "subscribed", timeout=5, what="subscribed")
    for channel in CHANNELS:
        await log.wait_for(_is_snapshot_of(channel), timeout=5, what=f"{channel} snapshot")
    return log


def _is_snapshot_of(channel: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame["type"] == "snapshot" and frame["channel"] == channel


async def _post_order(session: Session, server: LiveServer, qty: str) -> tuple[float, str]:
    """POST a market buy of AAPL; returns when it was sent and the order's id."""
    sent = time.perf_counter()
    response = await session.post_json(
        f"{server.base_url}/api/orders/",
        {"symbol": "AAPL", "side": "buy", "qty": qty, "type": "market"},
    )
    assert response.status_code == 201, response.text
    return sent, str(response.json()["id"])


async def _await_fill(log: FrameLog, order_id: str, sent: float, position_qty: str) -> float:
    """The order's trade, its `filled` update and the position; returns POST -> trade."""

    def remaining() -> float:
        return max(0.01, sent + EVENT_DEADLINE_SECONDS - time.perf_counter())

    trade_at, trade = await log.wait_for(
        lambda f: f["type"] == "trade_executed" and f["data"]["order_id"] == order_id,
        timeout=remaining(),
        what=f"trade_executed of {order_id}",
    )
    assert trade["data"]["price"] == "200.00000000"
    assert trade["data"]["symbol"] == "AAPL"
    await log.wait_for(
        lambda f: (
            f["type"] == "order_update"
            and f["data"]["id"] == order_id
            and f["data"]["status"] == "filled"
        ),
        timeout=remaining(),
        what=f"order_update filled of {order_id}",
    )
    _, frame = await log.wait_for(
        lambda f: any(
            e["type"] == "position_update"
            and e["data"]["symbol"] == "AAPL"
            and e["data"]["qty"] == position_qty
            for e in events_of(f)
        ),
        timeout=remaining(),
        what=f"position_update to {position_qty} AAPL",
    )
    position = next(e for e in events_of(frame) if e["data"].get("symbol") == "AAPL")
    assert position["data"]["side"] == "long"
    assert position["data"]["avg_entry_price"] == "200.00000000"
    assert time.perf_counter() - sent <= EVENT_DEADLINE_SECONDS + 0.05
    return trade_at - sent


def _report(label: str, latencies: list[float]) -> None:
    millis = ", ".join(f"{1000 * s:.1f}" for s in latencies)
    print(
        f"{label}: POST -> trade_executed p50 {1000 * statistics.median(latencies):.1f} ms, "
        f"max {1000 * max(latencies):.1f} ms over {len(latencies)} orders ({millis})"
    )


def test_order_posted_over_rest_streams_back_over_the_socket(
    processes: Processes, redis_url: str, trader: BrokerAccount
) -> None:
    server = _serve(processes, "serve", redis_url=redis_url, prefix=unique_prefix())

    async def scenario() -> list[float]:
        session = await login(server.base_url, trader.user.username, PASSWORD)
        latencies = []
        try:
            async with _open_socket(server, session) as ws:
                log = await _subscribe(ws)
                sent, order_id = await _post_order(session, server, "10")
                latencies.append(await _await_fill(log, order_id, sent, "10.000000"))
                for held in range(11, 10 + LATENCY_ORDERS):
                    sent, order_id = await _post_order(session, server, "1")
                    latencies.append(await _await_fill(log, order_id, sent, f"{held}.000000"))
        finally:
            await session.client.aclose()
        return latencies

    _report("one daphne", asyncio.run(scenario()))


def test_events_cross_server_processes_through_redis(
    processes: Processes, redis_url: str, trader: BrokerAccount
) -> None:
    """The order goes in through server A (which works the queue); B has no worker."""
    prefix = unique_prefix()
    server_a = _serve(processes, "serve-a", redis_url=redis_url, prefix=prefix)
    server_b = _serve(processes, "serve-b", redis_url=redis_url, prefix=prefix, worker=False)

    async def scenario() -> tuple[list[float], list[float]]:
        session = await login(server_b.base_url, trader.user.username, PASSWORD)
        latencies: list[float] = []
        same_server: list[float] = []
        try:
            # Sessions live in the shared database: B's cookie is good on A too.
            async with (
                _open_socket(server_b, session) as ws_b,
                _open_socket(server_a, session) as ws_a,
            ):
                log_b, log_a = await _subscribe(ws_b), await _subscribe(ws_a)
                for held in range(1, 1 + LATENCY_ORDERS):
                    sent, order_id = await _post_order(session, server_a, "1")
                    latencies.append(await _await_fill(log_b, order_id, sent, f"{held}.000000"))
                    same_server.append(await _await_fill(log_a, order_id, sent, f"{held}.000000"))
        finally:
            await session.client.aclose()
        return latencies, same_server

    across, same_server = asyncio.run(scenario())
    _report("order via A, socket on B", across)
    _report("order via A, socket on A", same_server)


def test_handshake_needs_a_session_and_the_same_origin(
    processes: Processes, redis_url: str, trader: BrokerAccount
) -> None:
    server = _serve(processes, "serve", redis_url=redis_url, prefix=unique_prefix())

    async def handshake_status(session: Session | None, origin: str | None = None) -> int:
        try:
            async with _open_socket(server, session, origin) as ws:
                await ws.send(json.dumps({"type": "ping"}))
                assert json.loads(await ws.recv())["type"] == "pong"
                return 101
        except InvalidStatus as rejected:
            return int(rejected.response.status_code)

    async def scenario() -> tuple[int, int, int]:
        session = await login(server.base_url, trader.user.username, PASSWORD)
        try:
            return (
                await handshake_status(None),
                await handshake_status(session, origin="http://evil.example"),
                await handshake_status(session),
            )
        finally:
            await session.client.aclose()

    no_cookie, cross_origin, accepted = asyncio.run(scenario())
    assert no_cookie == 403
    assert cross_origin == 403
    assert accepted == 101
