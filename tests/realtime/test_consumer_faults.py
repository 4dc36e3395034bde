"""Bad input and faults on /ws/portfolio: each gets a clear answer and nothing crashes."""

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from waffle.testutils import override_flag

from realtime import consumers, subscriptions
from realtime.conf import CloseCode
from realtime.groups import channel_group
from realtime.publisher import publisher
from tests.factories import make_account
from tests.realtime.conftest import receive_until, redis_layer_config, subscribe
from trading.models import BrokerAccount

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
async def trader() -> BrokerAccount:
    return await sync_to_async(make_account)("carol")


async def open_socket(ws_connect: Any, trader: BrokerAccount) -> Any:
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    return communicator


async def assert_still_open(communicator: Any) -> None:
    await communicator.send_json_to({"type": "ping"})
    assert (await receive_until(communicator, "pong"))["type"] == "pong"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json at all", "invalid_json"),
        ('["a", "list"]', "invalid_message"),
        ('{"type": "shout"}', "invalid_message"),
        ('{"type": "subscribe"}', "invalid_message"),
        ('{"type": "subscribe", "channels": ["secrets"]}', "unknown_channel"),
        ('{"type": "subscribe", "channels": ["orders"], "extra": 1}', "invalid_message"),
        (json.dumps({"type": "ping", "pad": "x" * 5000}), "message_too_large"),
    ],
)
async def test_bad_frame_gets_error_and_socket_stays_open(
    ws_connect: Any, trader: BrokerAccount, frame: str, code: str
) -> None:
    communicator = await open_socket(ws_connect, trader)
    await communicator.send_to(text_data=frame)
    error = await receive_until(communicator, "error")
    assert error["code"] == code
    assert error["message"]
    await assert_still_open(communicator)


async def test_binary_frame_rejected(ws_connect: Any, trader: BrokerAccount) -> None:
    communicator = await open_socket(ws_connect, trader)
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await receive_until(communicator, "error"))["code"] == "unsupported_frame"
    await assert_still_open(communicator)


async def test_flood_gets_error_then_close(ws_connect: Any, trader: BrokerAccount) -> None:
    communicator = await open_socket(ws_connect, trader)
    for _ in range(25):
        await communicator.send_json_to({"type": "ping"})
    assert (await receive_until(communicator, "error"))["code"] == "rate_limited"
    # Keep flooding for three one-second windows: the server gives up on this client.
    for _ in range(3):
        await asyncio.sleep(1.0)
        for _ in range(25):
            await communicator.send_json_to({"type": "ping"})
    output = await communicator.receive_output(timeout=3)
    while output["type"] != "websocket.close":
        output = await communicator.receive_output(timeout=3)
    assert output["code"] == CloseCode.POLICY_VIOLATION


async def test_heartbeat_ping_and_idle_timeout(
    ws_connect: Any, trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "HEARTBEAT_INTERVAL_SECONDS", 0.2)
    monkeypatch.setattr(consumers, "CLIENT_IDLE_TIMEOUT_SECONDS", 0.7)
    communicator = await open_socket(ws_connect, trader)
    assert (await communicator.receive_json_from(timeout=1))["type"] == "ping"
    error = await receive_until(communicator, "error", timeout=2)
    assert error["code"] == "heartbeat_timeout"
    output = await communicator.receive_output(timeout=1)
    assert output == {"type": "websocket.close", "code": CloseCode.HEARTBEAT_TIMEOUT}


async def test_client_frames_keep_the_socket_alive(
    ws_connect: Any, trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "HEARTBEAT_INTERVAL_SECONDS", 0.2)
    monkeypatch.setattr(consumers, "CLIENT_IDLE_TIMEOUT_SECONDS", 0.7)
    communicator = await open_socket(ws_connect, trader)
    for _ in range(6):
        await asyncio.sleep(0.25)
        await communicator.send_json_to({"type": "pong"})
    await assert_still_open(communicator)


async def test_feature_flag_off_closes_with_4403(ws_connect: Any, trader: BrokerAccount) -> None:
    flag = override_flag("realtime_portfolio", active=False)
    await sync_to_async(flag.enable)()
    try:
        communicator = await open_socket(ws_connect, trader)
        assert (await communicator.receive_json_from(timeout=1))["code"] == "feature_disabled"
        output = await communicator.receive_output(timeout=1)
        assert output == {"type": "websocket.close", "code": CloseCode.FEATURE_DISABLED}
    finally:
        await sync_to_async(flag.disable)()


async def test_logout_closes_that_sessions_sockets_with_4401(
    ws_connect: Any, trader: BrokerAccount
) -> None:
    from django.test import Client

    def login() -> Client:
        client = Client()
        client.force_login(trader.user)
        return client

    browser = await sync_to_async(login)()
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    same_session = await ws_connect(trader.user, cookie=cookie)
    assert (await same_session.connect())[0]
    other_session = await open_socket(ws_connect, trader)
    await assert_still_open(same_session)
    await sync_to_async(browser.post)("/accounts/logout/")
    assert (await receive_until(same_session, "error"))["code"] == "logged_out"
    assert (await same_session.receive_output(timeout=1))["code"] == CloseCode.LOGGED_OUT
    await assert_still_open(other_session)


async def test_deactivated_user_loses_every_socket(ws_connect: Any, trader: BrokerAccount) -> None:
    first = await open_socket(ws_connect, trader)
    second = await open_socket(ws_connect, trader)
    await assert_still_open(first)
    trader.user.is_active = False
    await sync_to_async(trader.user.save)()
    for communicator in (first, second):
        assert (await receive_until(communicator, "error"))["code"] == "logged_out"


async def test_slow_consumer_closed_with_4008(
    ws_connect: Any, trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "MAX_OUTBOUND_QUEUE_MESSAGES", 3)
    communicator = await open_socket(ws_connect, trader)
    await subscribe(communicator, ["orders"])

    async def stuck_send(self: Any, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(3600)  # a client that never reads

    monkeypatch.setattr(consumers.PortfolioConsumer, "send", stuck_send)
    for _ in range(10):  # each ping queues a pong the stuck client never takes
        await communicator.send_json_to({"type": "ping"})
    output = await communicator.receive_output(timeout=2)
    while output["type"] != "websocket.close":
        output = await communicator.receive_output(timeout=2)
    assert output["code"] == CloseCode.SLOW_CONSUMER


async def test_snapshot_failure_reports_error_and_keeps_socket(
    ws_connect: Any, trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(account_id: int, channels: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(subscriptions, "snapshot_frames", broken)
    communicator = await open_socket(ws_connect, trader)
    await communicator.send_json_to({"type": "subscribe", "channels": ["positions"]})
    assert (await receive_until(communicator, "error"))["code"] == "snapshot_failed"
    await assert_still_open(communicator)


@pytest.mark.redis
async def test_redis_down_at_connect_closes_cleanly(
    ws_connect: Any, trader: BrokerAccount, settings: Any
) -> None:
    settings.CHANNEL_LAYERS = redis_layer_config("redis://127.0.0.1:1/0")  # nothing listens
    channel_layers.backends.clear()
    communicator = await open_socket(ws_connect, trader)
    assert (await receive_until(communicator, "error", timeout=5))["code"] == "unavailable"
    output = await communicator.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": CloseCode.TRY_AGAIN_LATER}


@pytest.mark.redis
async def test_undecodable_group_message_does_not_kill_socket(
    ws_connect: Any, trader: BrokerAccount, layer_kind: str
) -> None:
    if layer_kind != "redis":
        pytest.skip("only the Redis layer serializes messages")
    from realtime.layers import ResilientRedisPubSubChannelLayer

    communicator = await open_socket(ws_connect, trader)
    await subscribe(communicator, ["orders"])
    layer = channel_layers["default"]
    assert isinstance(layer, ResilientRedisPubSubChannelLayer)
    group_channel = layer._get_group_channel_name(channel_group(trader.user_id, "orders"))
    import redis.asyncio

    client = redis.asyncio.from_url(
        redis_layer_config()["default"]["CONFIG"]["hosts"][0]["address"]
    )
    await client.publish(group_channel, b"\xc1 definitely not msgpack")
    await client.aclose()
    await asyncio.sleep(0.3)
    await assert_still_open(communicator)
    publisher.flush()
