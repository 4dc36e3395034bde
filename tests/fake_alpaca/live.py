"""Helpers for end-to-end tests of the Alpaca integration: a real `serve` (or the broker
stream process) pointed at the fake Alpaca, a browser's socket, and waiting for events."""

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.fake_alpaca.server import FakeAlpaca
from tests.integration.live_server import (
    FrameLog,
    LiveServer,
    Session,
    events_of,
    free_port,
    live_redis_url,
    unique_prefix,
)
from tests.processes import Processes, child_env, wait_for
from trading.models import BrokerAccount

CHANNELS = ["positions", "orders", "account"]


def alpaca_env(fake: FakeAlpaca, **env: Any) -> dict[str, str]:
    """A child's environment: the test database, Redis, and Alpaca at the fake."""
    return child_env(
        REDIS_URL=live_redis_url(),
        SIMULATED_BROKER_LATENCY_SECONDS=0,
        DJANGO_DEBUG="1",
        ALPACA_TRADING_URL=fake.rest_url,
        ALPACA_STREAM_URL=fake.stream_url,
        ALPACA_DATA_URL=fake.data_url,
        **{"ALPACA_DATA_API_KEY": "", "ALPACA_DATA_SECRET_KEY": "", **env},
    )


def launch(processes: Processes, name: str, command: list[str], env: dict[str, str]) -> Any:
    """A manage.py command through live_server's launcher (its own channel-layer prefix)."""
    launcher = [sys.executable, "-m", "tests.integration.live_server", "--prefix", unique_prefix()]
    return processes.start(name, [*launcher, "--", *command], env)


@pytest.fixture(name="processes")
def processes_fixture(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    try:
        yield group
    finally:
        print(group.logs())  # shown only when the test failed
        group.close()


def serve(processes: Processes, fake: FakeAlpaca, **env: Any) -> LiveServer:
    """`serve` pointed at the fake; it starts the broker streams (an account is linked).

    Started like live_server.start_server (its launcher, no simulated market), but with
    the Alpaca variables this test chooses, market-data keys included.
    """
    port = free_port()
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-market"]
    server = LiveServer(launch(processes, "serve", command, alpaca_env(fake, **env)), port)
    server.wait_ready()
    return server


def connected(account: BrokerAccount, processes: Processes) -> None:
    wait_for(
        lambda: BrokerAccount.objects.get(pk=account.pk).broker_status == "connected",
        timeout=15,
        what="the Alpaca trade stream to connect",
        processes=processes,
    )


async def open_socket(server: LiveServer, session: Session) -> tuple[ClientConnection, FrameLog]:
    ws = await connect(
        server.ws_url,
        additional_headers={"Origin": server.base_url, "Cookie": session.cookie_header},
        proxy=None,
        open_timeout=10,
    )
    log = FrameLog(ws)
    await ws.send(json.dumps({"type": "subscribe", "channels": CHANNELS}))
    for channel in CHANNELS:
        await log.wait_for(
            lambda f, c=channel: f["type"] == "snapshot" and f["channel"] == c,  # type: ignore[misc]
            timeout=5,
            what=f"{channel} snapshot",
        )
    return ws, log


async def post_order(session: Session, server: LiveServer, symbol: str, qty: str) -> str:
    return (await post_order_ids(session, server, symbol, qty))[0]


async def post_order_ids(
    session: Session, server: LiveServer, symbol: str, qty: str
) -> tuple[str, str]:
    """POST a market buy; returns the order's id and client_order_id."""
    response = await session.post_json(
        f"{server.base_url}/api/orders/",
        {"symbol": symbol, "side": "buy", "qty": qty, "type": "market"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), str(response.json()["client_order_id"])


def event(log: FrameLog, kind: str, **fields: Any):
    """Wait for an event of `kind` (inside a batch or not) whose data has `fields`."""

    def match(frame: dict[str, Any]) -> bool:
        return any(
            e.get("type") == kind and all(e["data"].get(k) == v for k, v in fields.items())
            for e in events_of(frame)
        )

    return log.wait_for(match, timeout=10, what=f"{kind} {fields}")


def all_events(log: FrameLog, kind: str) -> list[dict[str, Any]]:
    return [e for _, f in log.frames for e in events_of(f) if e.get("type") == kind]


def run(scenario: Any) -> Any:
    return asyncio.run(scenario)
