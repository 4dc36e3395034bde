"""Broker trade updates through trade_update_apply: fills, duplicates, stale statuses."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import set_price
from trading.broker.types import BrokerOrder, TradeUpdate
from trading.enums import OrderStatus
from trading.models import BrokerAccount, Fill, Order, Position
from trading.services.fills import trade_update_apply
from trading.services.orders import order_submit

D = Decimal
AT = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


def update(order: Order, event: str, **fill: str | None) -> TradeUpdate:
    """An Alpaca-shaped trade update about our order; `fill` has execution_id, qty, price."""
    broker_order = BrokerOrder(
        f"broker-{order.client_order_id}",
        order.client_order_id,
        order.symbol,
        order.side,
        order.type,
        order.time_in_force,
        order.qty,
        order.limit_price,
        filled_qty=D("0"),
        filled_avg_price=None,
        status=event,
        submitted_at=order.submitted_at,
        updated_at=AT,
    )
    qty, price = fill.get("qty"), fill.get("price")
    return TradeUpdate(
        event,
        broker_order,
        AT,
        execution_id=fill.get("execution_id"),
        qty=D(qty) if qty else None,
        price=D(price) if price else None,
    )


def submit(account: BrokerAccount, symbol: str, side: str, qty: str) -> Order:
    return order_submit(account=account, symbol=symbol, side=side, qty=D(qty), type="market")


def fill_all(account: BrokerAccount, symbol: str, side: str, qty: str, price: str) -> Order:
    order = submit(account, symbol, side, qty)
    assert trade_update_apply(account.pk, update(order, "new"))
    assert execute(account, order, "fill", f"x-{order.client_order_id}", qty, price)
    order.refresh_from_db()
    return order


def execute(
    account: BrokerAccount, order: Order, event: str, xid: str, qty: str, price: str
) -> bool:
    """Apply one execution of `order` (event: partial_fill or fill)."""
    fill = update(order, event, execution_id=xid, qty=qty, price=price)
    return trade_update_apply(account.pk, fill)


def position(account: BrokerAccount, symbol: str) -> Position | None:
    return Position.objects.filter(account=account, symbol=symbol).first()


def test_partial_fills_then_fill_exact_order_position_and_cash(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    account.refresh_from_db()
    # A market buy holds at the 3% collar: 10 x 206.00
    assert account.buying_power == D("97940.00")

    assert trade_update_apply(account.pk, update(order, "new"))
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert order.broker_order_id == f"broker-{order.client_order_id}"

    # 3 @ 200.10: cash 100000 - 600.30
    assert execute(account, order, "partial_fill", "e1", "3", "200.10")
    order.refresh_from_db()
    account.refresh_from_db()
    assert (order.status, order.filled_qty, order.filled_avg_price) == (
        OrderStatus.PARTIALLY_FILLED,
        D("3"),
        D("200.10"),
    )
    assert account.cash == D("99399.70")
    # The fill spent 600.30 of the hold, which keeps the other 1459.70: unchanged.
    assert account.buying_power == D("97940.00")

    # 4 @ 200.25: avg (600.30 + 801.00) / 7 = 200.185714285... -> 200.18571429
    assert execute(account, order, "partial_fill", "e2", "4", "200.25")
    order.refresh_from_db()
    assert (order.filled_qty, order.filled_avg_price) == (D("7"), D("200.18571429"))
    pos = position(account, "AAPL")
    assert pos is not None
    assert (pos.qty, pos.avg_entry_price) == (D("7"), D("200.18571429"))

    # 3 @ 199.95: avg (1401.30 + 599.85) / 10 = 200.115
    assert execute(account, order, "fill", "e3", "3", "199.95")
    order.refresh_from_db()
    account.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.filled_at == AT
    assert (order.filled_qty, order.filled_avg_price) == (D("10"), D("200.115"))
    pos = position(account, "AAPL")
    assert pos is not None
    assert (pos.qty, pos.avg_entry_price, pos.lastday_price) == (
        D("10"),
        D("200.115"),
        D("200.115"),
    )
    # Marked at the market price, 200.00.
    assert (pos.current_price, pos.market_value, pos.cost_basis) == (
        D("200.00"),
        D("2000.00"),
        D("2001.15"),
    )
    assert pos.unrealized_pl == D("-1.15")
    # 100000 - 600.30 - 801.00 - 599.85
    assert account.cash == D("97998.85")
    assert account.equity == D("99998.85")  # cash + 2000.00
    assert account.long_market_value == D("2000.00")
    assert account.buying_power == D("97998.85")  # nothing reserved any more
    assert account.day_pl == D("-1.15")
    assert account.day_pl_pct == D("-0.000012")  # -0.0000115, half-even
    assert Fill.objects.filter(order=order).count() == 3


def test_duplicate_execution_is_ignored(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    first = update(order, "partial_fill", execution_id="dup", qty="4", price="200.00")
    assert trade_update_apply(account.pk, first) is True
    assert trade_update_apply(account.pk, first) is False
    order.refresh_from_db()
    account.refresh_from_db()
    assert order.filled_qty == D("4")
    assert account.cash == D("99200.00")  # paid once: 100000 - 800
    assert Fill.objects.count() == 1
    pos = position(account, "AAPL")
    assert pos is not None and pos.qty == D("4")


def test_overfill_is_ignored(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    assert execute(account, order, "partial_fill", "a", "8", "200")
    assert not execute(account, order, "fill", "b", "5", "200")
    order.refresh_from_db()
    account.refresh_from_db()
    assert (order.filled_qty, order.status) == (D("8"), OrderStatus.PARTIALLY_FILLED)
    assert account.cash == D("98400.00")  # 100000 - 8 x 200
    assert not Fill.objects.filter(execution_id="b").exists()


@pytest.mark.parametrize(
    ("qty", "price", "execution_id"),
    [(None, "200", "m1"), ("0", "200", "m2"), ("1", None, "m3"), ("1", "200", None)],
)
def test_malformed_fill_is_ignored(account, qty, price, execution_id):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    bad = update(order, "fill", execution_id=execution_id, qty=qty, price=price)
    assert trade_update_apply(account.pk, bad) is False
    account.refresh_from_db()
    assert account.cash == D("100000.00")
    assert not Fill.objects.exists()


def event(order: Order, name: str) -> TradeUpdate:
    """A status event, or a fill of 1 share (partial_fill) or of all that is left (fill)."""
    if name not in ("fill", "partial_fill"):
        return update(order, name)
    order.refresh_from_db()
    qty = "1" if name == "partial_fill" else str(order.qty - order.filled_qty)
    execution_id = f"{name}-{Fill.objects.count()}"
    return update(order, name, execution_id=execution_id, qty=qty, price="200")


@pytest.mark.parametrize(
    ("history", "late", "expected"),
    [
        (["new", "fill"], "new", OrderStatus.FILLED),
        (["new", "fill"], "canceled", OrderStatus.FILLED),
        (["new", "canceled"], "accepted", OrderStatus.CANCELED),
        (["new", "canceled"], "new", OrderStatus.CANCELED),
        (["new", "rejected"], "new", OrderStatus.REJECTED),
        # Alpaca's order goes accepted -> pending_new -> new; later ones are stale.
        (["new"], "accepted", OrderStatus.NEW),
        (["new"], "pending_new", OrderStatus.NEW),
        (["accepted"], "pending_new", OrderStatus.ACCEPTED),
        (["partial_fill"], "new", OrderStatus.PARTIALLY_FILLED),
        (["partial_fill", "pending_cancel"], "new", OrderStatus.PENDING_CANCEL),
    ],
)
def test_status_never_moves_backwards(account, history, late, expected):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    for name in history:
        assert trade_update_apply(account.pk, event(order, name)), name
    assert trade_update_apply(account.pk, event(order, late)) is False
    order.refresh_from_db()
    assert order.status == expected


def test_forward_statuses_apply(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    for name in ("accepted", "new", "partial_fill", "pending_cancel", "canceled"):
        assert trade_update_apply(account.pk, event(order, name)), name
    order.refresh_from_db()
    assert (order.status, order.filled_qty) == (OrderStatus.CANCELED, D("1"))
    assert order.canceled_at is not None


def test_fill_during_pending_cancel_keeps_pending_cancel(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    assert trade_update_apply(account.pk, update(order, "pending_cancel"))
    assert execute(account, order, "partial_fill", "pc", "2", "200")
    order.refresh_from_db()
    assert (order.status, order.filled_qty) == (OrderStatus.PENDING_CANCEL, D("2"))


def test_late_execution_after_cancel_moves_money_but_not_the_status(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    assert trade_update_apply(account.pk, update(order, "canceled"))
    assert execute(account, order, "partial_fill", "late", "2", "200")
    order.refresh_from_db()
    account.refresh_from_db()
    assert (order.status, order.filled_qty) == (OrderStatus.CANCELED, D("2"))
    assert account.cash == D("99600.00")
    pos = position(account, "AAPL")
    assert pos is not None and pos.qty == D("2")


def test_rejected_event_records_a_reason(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    assert trade_update_apply(account.pk, update(order, "rejected"))
    order.refresh_from_db()
    account.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == "rejected by the broker"
    assert order.failed_at is not None
    assert account.buying_power == D("100000.00")  # the reservation is released


def test_unknown_event_is_ignored(account):
    set_price("AAPL", "200.00")
    order = submit(account, "AAPL", "buy", "10")
    assert trade_update_apply(account.pk, update(order, "order_cancel_rejected")) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_NEW


def test_order_placed_outside_the_app_is_adopted(account):
    outside = Order(
        client_order_id="placed-in-alpaca-ui",
        symbol="MSFT",
        side="buy",
        type="market",
        time_in_force="day",
        qty=D("2"),
        submitted_at=AT,
    )
    fill = update(outside, "fill", execution_id="ui-1", qty="2", price="431.20")
    assert trade_update_apply(account.pk, fill)
    order = Order.objects.get(client_order_id="placed-in-alpaca-ui")
    assert (order.account_id, order.status, order.filled_qty) == (
        account.pk,
        OrderStatus.FILLED,
        D("2"),
    )
    account.refresh_from_db()
    assert account.cash == D("99137.60")  # 100000 - 862.40


def test_short_sell_then_cover(account):
    set_price("TSLA", "250.00")
    fill_all(account, "TSLA", "sell", "10", "250.00")
    account.refresh_from_db()
    pos = position(account, "TSLA")
    assert pos is not None
    assert (pos.qty, pos.side, pos.avg_entry_price) == (D("-10"), "short", D("250.00"))
    assert (pos.market_value, pos.cost_basis) == (D("-2500.00"), D("-2500.00"))
    assert account.cash == D("102500.00")  # the proceeds
    assert account.short_market_value == D("-2500.00")
    assert account.equity == D("100000.00")  # 102500 - 2500
    assert account.buying_power == D("97500.00")  # 102500 - 2500 x 2 (proceeds + collateral)

    set_price("TSLA", "240.00")
    fill_all(account, "TSLA", "buy", "10", "240.00")
    account.refresh_from_db()
    assert position(account, "TSLA") is None
    assert account.cash == D("100100.00")  # 102500 - 2400: 100 gained
    assert (account.realized_pl, account.realized_pl_today) == (D("100.00"), D("100.00"))
    assert account.equity == D("100100.00")
    assert account.buying_power == D("100100.00")
    assert account.short_market_value == D("0.00")


def test_flip_long_to_short_through_one_order(account):
    set_price("AAPL", "200.00")
    fill_all(account, "AAPL", "buy", "10", "200.00")
    set_price("AAPL", "210.00")
    fill_all(account, "AAPL", "sell", "15", "210.00")
    account.refresh_from_db()
    pos = position(account, "AAPL")
    assert pos is not None
    assert (pos.qty, pos.avg_entry_price, pos.lastday_price) == (D("-5"), D("210"), D("210"))
    assert pos.market_value == D("-1050.00")
    assert pos.unrealized_pl == D("0.00")
    assert account.cash == D("101150.00")  # 100000 - 2000 + 3150
    assert account.equity == D("100100.00")  # 101150 - 1050: the long's 100 profit realised
    assert account.realized_pl == D("100.00")  # the 10 closed; the 5 opened short realize nothing
    assert account.buying_power == D("99050.00")  # 101150 - 1050 x 2


def test_fills_touch_only_their_account(account, other_account):
    set_price("AAPL", "200.00")
    fill_all(account, "AAPL", "buy", "1", "200.00")
    fill_all(other_account, "AAPL", "sell", "1", "200.00")
    other_account.refresh_from_db()
    assert other_account.cash == D("50200.00")
    mine, theirs = position(account, "AAPL"), position(other_account, "AAPL")
    assert mine is not None and theirs is not None
    assert (mine.qty, theirs.qty) == (D("1"), D("-1"))


def test_realized_pl_of_partial_closes_at_the_entry_price(account):
    set_price("AAPL", "200.00")
    fill_all(account, "AAPL", "buy", "3", "200.00")
    fill_all(account, "AAPL", "buy", "1", "201.00")  # entry 200.25
    set_price("AAPL", "199.00")
    order = submit(account, "AAPL", "sell", "4")
    assert trade_update_apply(account.pk, update(order, "new"))
    assert execute(account, order, "partial_fill", "p-1", "1", "199.00")
    account.refresh_from_db()
    assert account.realized_pl == D("-1.25")
    assert execute(account, order, "fill", "p-2", "3", "203.10")
    account.refresh_from_db()
    assert account.realized_pl == D("7.30")  # -1.25 + 3 x 2.85
    assert position(account, "AAPL") is None


def test_realized_pl_reaches_the_account_stream(account, django_capture_on_commit_callbacks):
    from trading import signals

    seen = []

    def receiver(*, account, **_):
        seen.append((account.realized_pl, account.realized_pl_today))

    signals.account_changed.connect(receiver, dispatch_uid="test-realized")
    try:
        set_price("AAPL", "200.00")
        fill_all(account, "AAPL", "buy", "2", "200.00")
        with django_capture_on_commit_callbacks(execute=True):
            fill_all(account, "AAPL", "sell", "2", "200.50")
    finally:
        signals.account_changed.disconnect(dispatch_uid="test-realized")
    assert seen[-1] == (D("1.00"), D("1.00"))
