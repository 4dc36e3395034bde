"""The publisher: after commit only, to the user's channel groups, price moves coalesced."""

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from realtime.groups import channel_group
from realtime.publisher import publisher
from tests.factories import make_account, set_price
from tests.realtime.conftest import event_of
from trading.services.orders import order_submit
from trading.services.prices import price_apply

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class Inbox:
    """A group member that keeps receiving; the PubSub layer drops a channel whose receive
    is cancelled, so one long-lived receive loop stands in for a consumer."""

    def __init__(self, layer: Any, name: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self._task = asyncio.create_task(self._collect(layer, name))

    async def _collect(self, layer: Any, name: str) -> None:
        while True:
            message = await layer.receive(name)
            self.messages.append(message)  # the list current now, not before the await

    async def take(self, wait: float = 0.5) -> list[dict[str, Any]]:
        """Everything received so far after waiting `wait` seconds; the inbox is emptied."""
        await asyncio.sleep(wait)
        taken, self.messages = self.messages, []
        return taken


async def listen(layer: Any, user_id: int, channel: str) -> Inbox:
    name = await layer.new_channel()
    await layer.group_add(channel_group(user_id, channel), name)
    return Inbox(layer, name)


@pytest.fixture
async def account() -> Any:
    await sync_to_async(set_price)("AAPL", "100.00")
    return await sync_to_async(make_account)("dave")


async def test_committed_order_is_published_to_the_users_group(
    channel_layer: Any, account: Any
) -> None:
    inbox = await listen(channel_layer, account.user_id, "orders")
    await sync_to_async(order_submit)(
        account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market"
    )
    [message] = await inbox.take()
    assert message["type"] == "portfolio.event"
    event = event_of(message)
    assert (event["type"], event["data"]["status"], event["seq"]) == (
        "order_update",
        "pending_new",
        1,
    )


async def test_rolled_back_order_publishes_nothing(channel_layer: Any, account: Any) -> None:
    inbox = await listen(channel_layer, account.user_id, "orders")

    @sync_to_async
    def submit_then_fail() -> None:
        with transaction.atomic():
            order_submit(
                account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market"
            )
            raise RuntimeError("the request failed after the order was written")

    with pytest.raises(RuntimeError):
        await submit_then_fail()
    assert await inbox.take() == []


async def test_price_ticks_are_coalesced_at_the_source(channel_layer: Any, account: Any) -> None:
    await sync_to_async(order_submit)(
        account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market"
    )
    import threading

    from trading.worker import run_worker

    await sync_to_async(run_worker)(stop=threading.Event(), burst=True)
    inbox = await listen(channel_layer, account.user_id, "positions")
    await inbox.take()  # the fill's own position update, if still in flight
    publisher.flush()  # and its throttle window over: start from a quiet channel
    for cents in range(1, 11):
        await sync_to_async(price_apply)(
            symbol="AAPL", price=Decimal("100") + Decimal(cents) / 100, at=timezone.now()
        )
    messages = await inbox.take(1.5)
    assert len(messages) == 2, "the first tick at once, the nine after it as one message"
    first, rest = event_of(messages[0]), event_of(messages[1])
    assert (first["type"], first["data"]["current_price"]) == ("position_update", "100.01000000")
    assert rest["type"] == "batch"
    assert rest["from_seq"] == first["seq"] + 1
    assert rest["seq"] - rest["from_seq"] == 8
    assert [e["data"]["current_price"] for e in rest["events"]] == ["100.10000000"]
    publisher.flush()
