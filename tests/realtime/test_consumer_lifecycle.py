"""However a socket ends, its cleanup runs: counters, registry, tasks and layer memberships.

A failing handler closes with `internal_error` and 1011; a disconnect cuts a stuck
handler short; a consumer cancelled by the server (daphne's close timeout, shutdown) still
releases everything; draining closes sockets with 1012.
"""

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer, InMemoryChannelLayer

from realtime import consumer_base, consumers, draining
from realtime.conf import CloseCode
from realtime.consumers import RESTART_CLOSE_REASON, PortfolioConsumer
from realtime.groups import channel_group, control_group
from realtime.stats import stats_snapshot
from realtime.subscriptions import Subscriptions
from realtime.tracking import registry
from tests.factories import make_account
from tests.realtime.conftest import receive_until, subscribe
from trading.models import BrokerAccount

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SOCKET_TASKS = ("Outbox._drain", "PortfolioConsumer._close_idle")


@pytest.fixture
async def trader() -> BrokerAccount:
    return await sync_to_async(make_account)("frank")


def socket_tasks() -> list[str]:
    names = [getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks()]
    return [n for n in names if n in SOCKET_TASKS]


def member_channels(layer: BaseChannelLayer, group: str) -> set[str]:
    if isinstance(layer, InMemoryChannelLayer):
        return set(layer.groups.get(group, {}))
    loop_layer = layer._get_layer()
    return set(loop_layer.groups.get(loop_layer._get_group_channel_name(group), set()))


async def assert_released(layer: BaseChannelLayer, user_id: int, active_before: float) -> None:
    await asyncio.sleep(0.2)  # the background group_discards of the in-memory layer
    assert stats_snapshot()["connections_active"] == active_before
    assert registry.connections_of(user_id) == set()
    assert len(draining.sockets) == 0
    assert socket_tasks() == []
    for group in [control_group(user_id), channel_group(user_id, "orders")]:
        assert member_channels(layer, group) == set()
    if not isinstance(layer, InMemoryChannelLayer):
        assert layer._get_layer().channels == {}


async def test_a_failing_handler_closes_with_1011_and_cleans_up(
    ws_connect: Any, channel_layer: Any, trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Any, channels: list[str]) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(PortfolioConsumer, "_unsubscribe", broken)
    active = stats_snapshot()["connections_active"]
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    await subscribe(communicator, ["orders"])
    await communicator.send_json_to({"type": "unsubscribe", "channels": ["orders"]})
    assert (await receive_until(communicator, "error"))["code"] == "internal_error"
    closed = await communicator.receive_output(timeout=1)
    assert closed == {"type": "websocket.close", "code": CloseCode.INTERNAL_ERROR}
    await communicator.send_input({"type": "websocket.disconnect", "code": 1011})
    await asyncio.wait_for(communicator.future, 1)
    await assert_released(channel_layer, trader.user_id, active)
    assert stats_snapshot()["disconnects"].get("code=1011", 0) >= 1


async def test_a_disconnect_cuts_a_stuck_handler_short(
    ws_connect: Any, channel_layer: Any, trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Subscriptions.subscribe
    entered = asyncio.Event()

    async def stuck(self: Subscriptions, account_id: int, channels: list[str]) -> Any:
        await original(self, account_id, channels)  # joins the groups, reads the snapshot
        entered.set()
        await asyncio.sleep(3600)  # then hangs, as behind a busy database thread

    monkeypatch.setattr(Subscriptions, "subscribe", stuck)
    active = stats_snapshot()["connections_active"]
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "subscribe", "channels": ["orders"]})
    await asyncio.wait_for(entered.wait(), 3)
    assert member_channels(channel_layer, channel_group(trader.user_id, "orders"))
    await communicator.send_input({"type": "websocket.disconnect", "code": 1006})
    await asyncio.wait_for(communicator.future, 0.5)
    await assert_released(channel_layer, trader.user_id, active)


async def test_a_cancelled_consumer_still_cleans_up(
    ws_connect: Any, channel_layer: Any, trader: BrokerAccount
) -> None:
    active = stats_snapshot()["connections_active"]
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    await subscribe(communicator, ["orders"])
    assert stats_snapshot()["connections_active"] == active + 1
    communicator.future.cancel()  # what daphne does after its close timeout, or at shutdown
    with pytest.raises(asyncio.CancelledError):
        await communicator.future
    await assert_released(channel_layer, trader.user_id, active)


async def test_draining_closes_sockets_with_1012_and_a_reconnect_hint(
    ws_connect: Any, channel_layer: Any, trader: BrokerAccount
) -> None:
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    drain = asyncio.create_task(draining.sockets.drain(pause_seconds=0, grace_seconds=3))
    try:
        assert (await receive_until(communicator, "error"))["code"] == "server_restart"
        assert await communicator.receive_output(timeout=1) == {
            "type": "websocket.close",
            "code": CloseCode.SERVER_RESTART,
            "reason": RESTART_CLOSE_REASON,
        }
        late = await ws_connect(trader.user)  # while the server is stopping
        assert (await late.connect())[0]
        assert (await receive_until(late, "error"))["code"] == "server_restart"
        assert (await late.receive_output(timeout=1))["code"] == CloseCode.SERVER_RESTART
        for socket in (communicator, late):  # the clients answer the close
            await socket.send_input({"type": "websocket.disconnect", "code": 1012})
        assert await asyncio.wait_for(drain, 2) == 0  # none left when the grace ended
    finally:
        draining.sockets.active = False


async def test_a_close_whose_disconnect_never_comes_still_ends_and_releases(
    ws_connect: Any, channel_layer: Any, trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server closes (here: the client went quiet) and the disconnect is lost, as when
    the connection was gone before the close: the consumer ends by itself, released."""
    monkeypatch.setattr(consumers, "HEARTBEAT_INTERVAL_SECONDS", 0.2)
    monkeypatch.setattr(consumers, "CLIENT_IDLE_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(consumer_base, "CLOSED_CONSUMER_GRACE_SECONDS", 0.5)
    active = stats_snapshot()["connections_active"]
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    await subscribe(communicator, ["orders"])
    assert (await receive_until(communicator, "error"))["code"] == "heartbeat_timeout"
    closed = await communicator.receive_output(timeout=1)
    assert closed == {"type": "websocket.close", "code": CloseCode.HEARTBEAT_TIMEOUT}
    # No websocket.disconnect is sent.
    await asyncio.wait_for(communicator.future, 2)
    await assert_released(channel_layer, trader.user_id, active)
