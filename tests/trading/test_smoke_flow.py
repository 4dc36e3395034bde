"""The newcomer's path: a market order is worked by the queue and becomes a position."""

from decimal import Decimal

from tests.factories import set_price
from trading.enums import JobStatus, OrderStatus
from trading.models import OrderJob, Position, SimulatedOrder
from trading.services.orders import order_submit


def test_market_buy_fills_and_becomes_position(account, work_queue):
    set_price("AAPL", "200.00")
    order = order_submit(
        account=account, symbol="aapl", side="buy", qty=Decimal("10"), type="market"
    )
    assert order.status == OrderStatus.PENDING_NEW

    assert work_queue() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.filled_avg_price == Decimal("200.00")
    position = Position.objects.get(account=account, symbol="AAPL")
    assert position.qty == Decimal("10")
    assert position.market_value == Decimal("2000.00")
    account.refresh_from_db()
    assert account.cash == Decimal("98000.00")
    assert account.equity == Decimal("100000.00")
    assert OrderJob.objects.get().status == JobStatus.DONE
    assert SimulatedOrder.objects.count() == 1
