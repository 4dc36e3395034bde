"""Opening balances at the simulated venue: holdings booked as already-filled orders."""

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading.broker.simulated.venue import match_orders, to_broker_order
from trading.broker.types import TradeUpdate, TradeUpdateSink
from trading.enums import OrderStatus, OrderType, TimeInForce
from trading.models import SimulatedOrder


def venue_book_filled_order(
    *, account_id: int, symbol: str, side: str, qty: Decimal, price: Decimal, sink: TradeUpdateSink
) -> str:
    """Book an order filled at `price` at the venue, reporting it through `sink` like any fill.

    Both books (the venue's and ours, through the sink) change in one transaction, so
    position sync finds them equal.
    """
    now = timezone.now()
    with transaction.atomic():
        order = SimulatedOrder.objects.create(
            account_id=account_id,
            client_order_id=f"opening-{uuid.uuid4().hex[:24]}",
            symbol=symbol,
            side=side,
            type=OrderType.MARKET,
            time_in_force=TimeInForce.DAY,
            qty=qty,
            status=OrderStatus.NEW,
            submitted_at=now,
            updated_at=now,
        )
        sink(account_id, TradeUpdate("new", to_broker_order(order), now))
        match_orders([order], price, sink, max_fill_qty=qty)
    return order.client_order_id
