"""Frames from a real daphne server validate against docs/api/asyncapi.yaml.

A trader logs in, opens /ws/portfolio, subscribes, places an order through REST, pings,
sends bad frames and unsubscribes; every frame either side sent is checked against the
document's payload schema for its type (the server's heartbeat `ping`, every 15 s, is
covered by the examples instead).
"""

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from realtime.conf import MAX_INBOUND_FRAME_BYTES
from tests.docs.asyncapi_checks import (
    committed_document,
    messages_by_type,
    payload_validator,
    schema_errors,
)
from tests.factories import make_account, set_price
from tests.integration.live_server import (
    FrameLog,
    LiveServer,
    events_of,
    live_redis_url,
    login,
    start_server,
    unique_prefix,
)
from tests.processes import Processes
from trading.models import BrokerAccount

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-1"
CHANNELS = ["positions", "orders", "account"]
TIMEOUT_SECONDS = 5.0
# Sent as they are; each must be answered by an `error` with this code.
BAD_FRAMES: list[tuple[str | bytes, str]] = [
    ("{", "invalid_json"),
    (json.dumps({"type": "dance"}), "invalid_message"),
    (json.dumps({"type": "subscribe", "channels": ["news"]}), "unknown_channel"),
    (json.dumps({"type": "ping", "pad": "x" * MAX_INBOUND_FRAME_BYTES}), "message_too_large"),
    (b"\x00\x01", "unsupported_frame"),
]


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
    return make_account("asyncapi-trader")


Predicate = Callable[[dict[str, Any]], bool]


def _snapshot_of(channel: str) -> Predicate:
    return lambda frame: frame["type"] == "snapshot" and frame["channel"] == channel


def _carrying(event_type: str) -> Predicate:
    return lambda frame: any(event["type"] == event_type for event in events_of(frame))


def _error(code: str) -> Predicate:
    return lambda frame: frame["type"] == "error" and frame["code"] == code


async def _send(ws: ClientConnection, sent: list[dict[str, Any]], frame: dict[str, Any]) -> None:
    sent.append(frame)
    await ws.send(json.dumps(frame))


async def _converse(server: LiveServer, username: str) -> tuple[list[Any], list[Any]]:
    """What the client sent and what it received, after every kind of exchange."""
    session = await login(server.base_url, username, PASSWORD)
    sent: list[dict[str, Any]] = []
    headers = {"Origin": server.base_url, "Cookie": session.cookie_header}
    try:
        async with connect(server.ws_url, additional_headers=headers, proxy=None) as ws:
            log = FrameLog(ws)
            await _send(ws, sent, {"type": "subscribe", "channels": CHANNELS})
            for channel in CHANNELS:
                await log.wait_for(
                    _snapshot_of(channel), timeout=TIMEOUT_SECONDS, what=f"{channel} snapshot"
                )
            response = await session.post_json(
                f"{server.base_url}/api/orders/",
                {"symbol": "AAPL", "side": "buy", "qty": "10", "type": "market"},
            )
            assert response.status_code == 201, response.text
            for wanted in ("trade_executed", "order_update", "position_update", "account_update"):
                await log.wait_for(_carrying(wanted), timeout=TIMEOUT_SECONDS, what=wanted)
            await _send(ws, sent, {"type": "ping"})
            await log.wait_for(lambda f: f["type"] == "pong", timeout=TIMEOUT_SECONDS, what="pong")
            await _send(ws, sent, {"type": "pong"})
            for text, code in BAD_FRAMES:
                await ws.send(text)
                await log.wait_for(_error(code), timeout=TIMEOUT_SECONDS, what=f"error {code}")
            await _send(ws, sent, {"type": "unsubscribe", "channels": ["orders"]})
            await log.wait_for(
                lambda f: f["type"] == "unsubscribed", timeout=TIMEOUT_SECONDS, what="unsubscribed"
            )
            received = [frame for _, frame in log.frames]
    finally:
        await session.client.aclose()
    return sent, received


def test_live_frames_validate_against_the_asyncapi_document(
    processes: Processes, trader: BrokerAccount
) -> None:
    document = committed_document()
    server = start_server(
        processes, "serve", redis_url=live_redis_url(), prefix=unique_prefix(), worker=True
    )
    server.wait_ready()

    sent, received = asyncio.run(_converse(server, trader.user.username))

    problems = []
    for action, frames in (("receive", sent), ("send", received)):
        messages = messages_by_type(document, action)
        validators = {t: payload_validator(document, name) for t, name in messages.items()}
        for frame in frames:
            validator = validators.get(frame["type"])
            if validator is None:
                problems.append(f"{action}: no message for type {frame['type']!r}")
                continue
            problems += [f"{action} {frame['type']} {e}" for e in schema_errors(validator, frame)]
    assert not problems, "\n".join(problems)

    seen = {frame["type"] for frame in received}
    seen |= {event["type"] for frame in received for event in events_of(frame)}
    assert seen >= {
        "subscribed",
        "snapshot",
        "order_update",
        "trade_executed",
        "position_update",
        "account_update",
        "pong",
        "error",
        "unsubscribed",
    }
    codes = {frame["code"] for frame in received if frame["type"] == "error"}
    assert codes == {code for _, code in BAD_FRAMES}
