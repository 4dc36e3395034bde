"""PortfolioConsumer over WebsocketCommunicator, on the in-memory layer and on Redis."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from realtime.events import parse_event
from realtime.publisher import publisher
from tests.factories import make_account, set_price
from tests.realtime.conftest import receive_until, subscribe
from trading.models import BrokerAccount
from trading.services.orders import order_submit
from trading.services.prices import price_apply
from trading.worker import run_worker

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _buy(account: BrokerAccount, symbol: str = "AAPL", qty: str = "10") -> None:
    order_submit(account=account, symbol=symbol, side="buy", qty=Decimal(qty), type="market")
    run_worker(stop=threading.Event(), burst=True, worker_id="test")


buy = sync_to_async(_buy)
make_account_async = sync_to_async(make_account)


@sync_to_async
def move_price(symbol: str, price: str) -> None:
    price_apply(symbol=symbol, price=Decimal(price), at=timezone.now())


@pytest.fixture
async def trader() -> BrokerAccount:
    await sync_to_async(set_price)("AAPL", "200.00")
    return await make_account_async("alice")


async def test_anonymous_handshake_rejected(ws_connect: Any) -> None:
    communicator = await ws_connect(None)
    connected, _ = await communicator.connect()
    assert not connected


async def test_invalid_session_cookie_rejected(ws_connect: Any, trader: BrokerAccount) -> None:
    communicator = await ws_connect(trader.user, cookie=b"sessionid=not-a-session")
    connected, _ = await communicator.connect()
    assert not connected


async def test_cross_origin_handshake_rejected(ws_connect: Any, trader: BrokerAccount) -> None:
    communicator = await ws_connect(trader.user, origin=b"https://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_subscribe_sends_snapshot_with_seq(ws_connect: Any, trader: BrokerAccount) -> None:
    await buy(trader)
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    snapshots = await subscribe(communicator, ["positions", "orders", "account"])
    positions = snapshots["positions"]
    assert positions["seq"] == 1
    assert positions["data"]["positions"][0]["symbol"] == "AAPL"
    assert positions["data"]["positions"][0]["qty"] == "10.000000"
    assert snapshots["account"]["data"]["account"]["cash"] == "98000.00"
    for snapshot in snapshots.values():
        parse_event(snapshot)


async def test_trade_reaches_subscriber(ws_connect: Any, trader: BrokerAccount) -> None:
    communicator = await ws_connect(trader.user)
    await communicator.connect()
    await subscribe(communicator, ["positions", "orders", "account"])
    await buy(trader)
    seen: dict[str, dict[str, Any]] = {}
    while not {"trade_executed", "position_update", "account_update"} <= set(seen):
        frame = await communicator.receive_json_from(timeout=3)
        parse_event(frame)
        if frame["type"] == "batch":
            frame = frame["events"][-1]
        seen.setdefault(frame["type"], frame)
        if frame["type"] == "order_update":
            seen["order_update"] = frame
    assert seen["trade_executed"]["data"]["price"] == "200.00000000"
    assert seen["order_update"]["data"]["status"] == "filled"
    assert seen["position_update"]["data"]["qty"] == "10.000000"


async def test_unsubscribe_stops_events(ws_connect: Any, trader: BrokerAccount) -> None:
    communicator = await ws_connect(trader.user)
    await communicator.connect()
    await subscribe(communicator, ["orders"])
    await communicator.send_json_to({"type": "unsubscribe", "channels": ["orders"]})
    assert (await receive_until(communicator, "unsubscribed"))["channels"] == ["orders"]
    await buy(trader)
    assert await communicator.receive_nothing(timeout=0.5)


async def test_user_never_receives_another_users_events(
    ws_connect: Any, trader: BrokerAccount
) -> None:
    bob = await make_account_async("bob")
    alice_socket = await ws_connect(trader.user)
    await alice_socket.connect()
    await subscribe(alice_socket, ["positions", "orders", "account"])
    bob_socket = await ws_connect(bob.user)
    await bob_socket.connect()
    await subscribe(bob_socket, ["positions", "orders", "account"])
    await buy(bob)
    await receive_until(bob_socket, "trade_executed")
    assert await alice_socket.receive_nothing(timeout=0.5)


async def test_price_moves_are_throttled_to_a_frame_per_second(
    ws_connect: Any, trader: BrokerAccount
) -> None:
    await buy(trader)
    communicator = await ws_connect(trader.user)
    await communicator.connect()
    snapshot = (await subscribe(communicator, ["positions"]))["positions"]
    publisher.flush()  # start from a quiet channel: the fill's own update is out
    for price in ("201.00", "202.00", "203.00", "204.00"):
        await move_price("AAPL", price)
    # The first move goes out at once; the three after it, within the same second, leave
    # together as one batch when the window closes, only the latest price kept.
    first = await receive_until(communicator, "position_update", timeout=2)
    assert (first["seq"], first["data"]["current_price"]) == (snapshot["seq"] + 1, "201.00000000")
    batch = await receive_until(communicator, "batch", timeout=3)
    assert (batch["from_seq"], batch["seq"]) == (snapshot["seq"] + 2, snapshot["seq"] + 4)
    assert [e["data"]["current_price"] for e in batch["events"]] == ["204.00000000"]
    assert await communicator.receive_nothing(timeout=0.3)


async def test_seq_strictly_increasing_per_channel(ws_connect: Any, trader: BrokerAccount) -> None:
    communicator = await ws_connect(trader.user)
    await communicator.connect()
    snapshots = await subscribe(communicator, ["orders", "account"])
    last = {channel: snapshot["seq"] for channel, snapshot in snapshots.items()}
    await buy(trader)
    await buy(trader, qty="5")
    orders_seen = 0
    while orders_seen < 6:  # two orders: update, trade, update per fill, plus pending
        try:
            frame = await communicator.receive_json_from(timeout=1.5)
        except TimeoutError:
            break
        if frame["type"] in ("ping", "pong"):
            continue
        first = frame.get("from_seq", frame["seq"])
        assert first == last[frame["channel"]] + 1, frame
        last[frame["channel"]] = frame["seq"]
        orders_seen += frame["channel"] == "orders"
    assert orders_seen >= 6
