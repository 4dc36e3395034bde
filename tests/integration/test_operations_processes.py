"""Operations across real processes: stats summed over two daphnes, a dead one dropping out,
and the kill switch closing sockets in both within 5 s (then back on)."""

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.factories import make_account, make_user, set_price
from tests.integration.live_server import (
    FrameLog,
    LiveServer,
    Session,
    live_redis_url,
    login,
    start_server,
    unique_prefix,
)
from tests.processes import REPO_ROOT, Processes, child_env
from trading.models import BrokerAccount

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-1"
STATS_URL = "/api/admin/websocket-stats/"
# Fast reports so the test waits seconds, not the production 5 s / 30 s.
FAST_STATS: dict[str, object] = {
    "STATS_REPORT_INTERVAL_SECONDS": "0.5",
    "STATS_PROCESS_TIMEOUT_SECONDS": "3",
}
KILL_SWITCH_DEADLINE_SECONDS = 5.0


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    try:
        yield group
    finally:
        print(group.logs())
        group.close()


@pytest.fixture
def trader() -> BrokerAccount:
    set_price("AAPL", "200.00")
    operator = make_user("operator")
    operator.is_staff = True
    operator.save()
    return make_account("live-trader")


def _two_servers(processes: Processes) -> tuple[LiveServer, LiveServer, str]:
    redis_url, prefix = live_redis_url(), unique_prefix()
    a = start_server(processes, "a", redis_url=redis_url, prefix=prefix, env=FAST_STATS)
    b = start_server(
        processes, "b", redis_url=redis_url, prefix=prefix, worker=False, env=FAST_STATS
    )
    a.wait_ready()
    b.wait_ready()
    return a, b, prefix


async def _socket(server: LiveServer, session: Session) -> tuple[ClientConnection, FrameLog]:
    ws = await connect(
        server.ws_url,
        additional_headers={"Origin": server.base_url, "Cookie": session.cookie_header},
        proxy=None,
    )
    log = FrameLog(ws)
    await ws.send(json.dumps({"type": "subscribe", "channels": ["orders"]}))
    await log.wait_for(lambda f: f["type"] == "snapshot", timeout=5, what="snapshot")
    return ws, log


async def _stats_until(
    staff: Session, server: LiveServer, predicate: Any, *, timeout: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await staff.client.get(f"{server.base_url}{STATS_URL}")
        assert response.status_code == 200, response.text
        body = response.json()
        if predicate(body):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout}s; last stats: {json.dumps(body)[:2000]}")


def _rollout(prefix: str, *args: str) -> str:
    """`manage.py rollout` as an operator runs it: another process, the same Redis and database."""
    launcher = [sys.executable, "-m", "tests.integration.live_server", "--prefix", prefix, "--"]
    env = child_env(REDIS_URL=live_redis_url(), DJANGO_DEBUG="1")
    result = subprocess.run(
        [*launcher, "rollout", "realtime_portfolio", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_stats_sum_both_processes_and_a_killed_one_drops_out(
    processes: Processes, trader: BrokerAccount
) -> None:
    a, b, _ = _two_servers(processes)
    staff = await login(a.base_url, "operator", PASSWORD)
    on_a = await login(a.base_url, "live-trader", PASSWORD)
    on_b = await login(b.base_url, "live-trader", PASSWORD)
    sockets = [await _socket(a, on_a), await _socket(a, on_a), await _socket(b, on_b)]

    # A process's report is a snapshot taken every 0.5 s: one taken between a socket's accept
    # and its subscribe counts the socket but not yet its channel, so wait for both.
    both = await _stats_until(
        staff,
        a,
        lambda s: (
            s["activeConnections"] == 3
            and len(s["processes"]) == 2
            and s["channels"].get("orders") == 3
        ),
        timeout=15,  # reports every 0.5 s; the margin is for a loaded CI machine
        what="3 sockets subscribed to orders over 2 processes",
    )
    assert both["mode"] == "distributed"
    assert sorted(p["activeConnections"] for p in both["processes"]) == [1, 2]
    staff_b = await login(b.base_url, "operator", PASSWORD)
    # Either process answers for the deployment (the same reports, read from Redis).
    await _stats_until(
        staff_b,
        b,
        lambda s: s["activeConnections"] == 3 and len(s["processes"]) == 2,
        timeout=15,
        what="the same sum read through the other process",
    )

    b.child.kill()  # SIGKILL: no goodbye, it just stops reporting
    after = await _stats_until(
        staff,
        a,
        lambda s: len(s["processes"]) == 1 and s["activeConnections"] == 2,
        timeout=3 + 12,  # the 3 s timeout, plus a loaded machine's margin
        what="the killed process dropping out",
    )
    assert after["processes"][0]["activeConnections"] == 2
    for ws, _ in sockets:
        await ws.close()


async def test_kill_switch_closes_sockets_in_both_processes_and_polling_pages_return(
    processes: Processes, trader: BrokerAccount
) -> None:
    a, b, prefix = _two_servers(processes)
    on_a = await login(a.base_url, "live-trader", PASSWORD)
    on_b = await login(b.base_url, "live-trader", PASSWORD)
    (ws_a, log_a), (ws_b, log_b) = await _socket(a, on_a), await _socket(b, on_b)

    assert "mode:     off" in _rollout(prefix, "--off")
    switched = time.monotonic()
    for ws, log in ((ws_a, log_a), (ws_b, log_b)):
        remaining = max(0.1, switched + KILL_SWITCH_DEADLINE_SECONDS - time.monotonic())
        _, error = await log.wait_for(
            lambda f: f["type"] == "error", timeout=remaining, what="feature_disabled"
        )
        assert error["code"] == "feature_disabled"
        await asyncio.wait_for(ws.wait_closed(), timeout=remaining)
        assert ws.close_code == 4403
    print(f"both sockets closed {time.monotonic() - switched:.2f}s after the command returned")
    snapshot = await on_b.client.get(f"{b.base_url}/api/portfolio/snapshot/")
    assert snapshot.json()["realtime_enabled"] is False

    _rollout(prefix, "--everyone")
    # What a polling page does next: its snapshot says the stream is back, so it reconnects.
    snapshot = await on_a.client.get(f"{a.base_url}/api/portfolio/snapshot/")
    assert snapshot.json()["realtime_enabled"] is True
    ws, log = await _socket(a, on_a)
    await asyncio.sleep(2.5)  # a full watcher poll: the new socket stays open
    assert not log.closed
    await ws.close()
