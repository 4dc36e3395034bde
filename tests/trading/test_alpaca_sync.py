"""The services a streaming broker feeds: the fill watermark, reconcile, resync, balances."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import make_account, set_price
from trading import signals
from trading.broker.alpaca.mapping import AccountBalances
from trading.broker.types import BrokerOrder, BrokerPosition, BrokerUnavailable, TradeUpdate
from trading.enums import OrderStatus
from trading.models import BrokerAccount, Fill, Order, Position
from trading.services.broker_account_sync import (
    broker_account_resync,
    broker_balances_apply,
    broker_balances_settle,
    broker_order_reconcile,
    broker_status_set,
    broker_trade_update_apply,
)
from trading.services.orders import order_apply_broker_state, order_submit

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def broker_order(cid: str, *, qty="10", filled="0", avg=None, status="new", type="market", at=T0):
    return BrokerOrder(
        broker_order_id=f"b-{cid}",
        client_order_id=cid,
        symbol="AAPL",
        side="buy",
        type=type,
        time_in_force="day",
        qty=Decimal(qty),
        limit_price=Decimal("250") if type == "limit" else None,
        filled_qty=Decimal(filled),
        filled_avg_price=Decimal(avg) if avg else None,
        status=status,
        submitted_at=T0,
        updated_at=at,
    )


def fill_event(order: BrokerOrder, qty: str | None, price: str | None, execution_id="e1"):
    return TradeUpdate(
        "fill" if order.filled_qty == order.qty else "partial_fill",
        order,
        order.updated_at,
        execution_id=execution_id,
        qty=Decimal(qty) if qty else None,
        price=Decimal(price) if price else None,
    )


@pytest.fixture
def account(db) -> BrokerAccount:
    set_price("AAPL", "200.00")
    return make_account("streamer")


@pytest.fixture
def signalled(django_capture_on_commit_callbacks):
    """Run a call and return its result with the domain signals it sent after commit."""
    names: list[str] = []
    receivers = {}
    for name in ("order_updated", "trade_executed", "position_changed", "account_changed"):
        receivers[name] = lambda name=name, **_: names.append(name)
        getattr(signals, name).connect(receivers[name], weak=False)

    def run(call):
        names.clear()
        with django_capture_on_commit_callbacks(execute=True):
            result = call()
        return result, list(names)

    yield run
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def test_a_fill_books_its_own_execution_once(account):
    order = broker_order("c1", filled="4", avg="200", status="partially_filled")
    event = fill_event(order, "4", "200")

    assert broker_trade_update_apply(account_id=account.pk, update=event)
    assert not broker_trade_update_apply(account_id=account.pk, update=event)
    assert not broker_trade_update_apply(
        account_id=account.pk, update=replace(event, execution_id="other-id")
    )

    assert Fill.objects.get().execution_id == "e1"
    assert Order.objects.get(client_order_id="c1").filled_qty == Decimal("4")


def test_executions_we_never_heard_of_are_booked_with_the_next_one(account):
    first = broker_order("c1", filled="4", avg="200", status="partially_filled")
    broker_trade_update_apply(account_id=account.pk, update=fill_event(first, "4", "200"))
    # Two executions later (3 @ 201 was missed, then 3 @ 202): cumulative 10 @ 200.9.
    last = broker_order("c1", filled="10", avg="200.9", status="filled")

    assert broker_trade_update_apply(
        account_id=account.pk, update=fill_event(last, "3", "202", "e3")
    )

    order = Order.objects.get(client_order_id="c1")
    assert (order.status, order.filled_qty, order.filled_avg_price) == (
        OrderStatus.FILLED,
        Decimal("10"),
        Decimal("200.9"),
    )
    booked = Fill.objects.get(execution_id="e3")
    assert (booked.qty, booked.price) == (Decimal("6"), Decimal("201.5"))
    assert Position.objects.get(account=account).qty == Decimal("10")


def test_a_fill_without_its_own_qty_and_price_books_the_cumulative_difference(account):
    order = broker_order("c1", filled="10", avg="199.5", status="filled")

    assert broker_trade_update_apply(
        account_id=account.pk, update=fill_event(order, None, None, None)
    )

    fill = Fill.objects.get()
    assert (fill.qty, fill.price, fill.execution_id) == (Decimal("10"), Decimal("199.5"), "b-c1:10")


def test_orders_we_do_not_model_are_left_to_position_sync(account):
    stop = replace(broker_order("c1", filled="1", avg="200", status="filled", qty="1"), type="stop")
    notional = replace(broker_order("c2", status="new"), qty=Decimal("0"))

    assert not broker_trade_update_apply(account_id=account.pk, update=fill_event(stop, "1", "200"))
    assert not broker_trade_update_apply(
        account_id=account.pk, update=TradeUpdate("new", notional, T0)
    )
    assert not Order.objects.exists()


def test_reconcile_books_missed_fills_then_the_status(account):
    order = order_submit(
        account=account,
        symbol="AAPL",
        side="buy",
        qty=Decimal("10"),
        type="limit",
        limit_price=Decimal("250"),
    )
    order_apply_broker_state(
        order_id=order.pk, broker_order=broker_order(order.client_order_id, type="limit")
    )
    canceled = broker_order(
        order.client_order_id, type="limit", filled="6", avg="249.5", status="canceled"
    )

    assert broker_order_reconcile(account_id=account.pk, broker_order=canceled) == 2

    order.refresh_from_db()
    assert (order.status, order.filled_qty) == (OrderStatus.CANCELED, Decimal("6"))
    assert Fill.objects.get().execution_id == f"sync:b-{order.client_order_id}:6"
    assert broker_order_reconcile(account_id=account.pk, broker_order=canceled) == 0


def test_orders_placed_elsewhere_that_never_traded_are_not_imported(account):
    expired = broker_order("elsewhere", status="expired")
    working = broker_order("elsewhere-open", status="new")

    assert broker_order_reconcile(account_id=account.pk, broker_order=expired) == 0
    broker_order_reconcile(account_id=account.pk, broker_order=working)

    assert list(Order.objects.values_list("client_order_id", flat=True)) == ["elsewhere-open"]


def test_balances_from_the_broker_signal_only_a_change(account, signalled):
    same = AccountBalances(
        cash=Decimal("100000"), equity=Decimal("100000"), last_equity=Decimal("100000"),
        buying_power=Decimal("400000"), long_market_value=Decimal("0"),
        short_market_value=Decimal("0"), status="ACTIVE",
    )  # fmt: skip

    def apply(**changes):
        balances = replace(same, **changes)
        return signalled(lambda: broker_balances_apply(account_id=account.pk, balances=balances))

    assert apply() == (False, [])
    assert apply(cash=Decimal("99000.004")) == (True, ["account_changed"])
    assert BrokerAccount.objects.get(pk=account.pk).cash == Decimal("99000.00")
    assert apply(cash=Decimal("99000"), last_equity=Decimal("98000")) == (True, ["account_changed"])


def test_status_writes_only_on_change(account):
    assert broker_status_set(account_id=account.pk, status="connected")
    assert not broker_status_set(account_id=account.pk, status="connected")
    assert broker_status_set(account_id=account.pk, status="error", error="boom")


class StubGateway:
    """The broker's state as a script: each list_orders("open") call takes the next list."""

    def __init__(self, open_orders: list[list[BrokerOrder]], positions=(), cash="100000"):
        self.open_orders = list(open_orders)
        self.positions = list(positions)
        self.cash = Decimal(cash)
        self.by_cid: dict[str, BrokerOrder] = {}

    def list_orders(self, *, status="open", after=None):
        if status != "open":
            return []
        return self.open_orders.pop(0) if len(self.open_orders) > 1 else self.open_orders[0]

    def get_order_by_client_id(self, client_order_id):
        return self.by_cid.get(client_order_id)

    def list_positions(self):
        return self.positions

    def get_account(self):
        return AccountBalances(
            self.cash, self.cash, self.cash, self.cash, Decimal(0), Decimal(0), "ACTIVE"
        )

    def submit_order(self, request):
        raise NotImplementedError

    def cancel_order(self, broker_order_id):
        raise NotImplementedError


def test_a_resync_with_nothing_new_signals_nothing(account, signalled):
    gateway = StubGateway([[]])

    result, names = signalled(
        lambda: broker_account_resync(account_id=account.pk, gateway=gateway, since=None)
    )

    assert not result.changed
    assert names == []


def test_a_resync_reads_again_when_a_fill_lands_between_its_reads(account):
    before = broker_order("c1", status="new")
    after = broker_order(
        "c1", filled="10", avg="200", status="filled", at=T0 + timedelta(seconds=1)
    )
    gateway = StubGateway(
        [[before], [after], [after]],
        positions=[BrokerPosition("AAPL", Decimal("10"), Decimal("200"))],
        cash="98000",
    )

    result = broker_account_resync(account_id=account.pk, gateway=gateway, since=None)

    assert result.orders_changed and result.positions_changed == []
    assert Position.objects.get(account=account).qty == Decimal("10")  # booked once
    assert BrokerAccount.objects.get(pk=account.pk).cash == Decimal("98000.00")


def test_a_resync_gives_up_on_an_account_that_never_holds_still(account):
    moving = [
        broker_order("c1", filled=str(n), avg="200", status="partially_filled") for n in range(1, 9)
    ]

    with pytest.raises(BrokerUnavailable, match="kept changing"):
        broker_account_resync(
            account_id=account.pk, gateway=StubGateway([[o] for o in moving]), since=None
        )


def test_settling_waits_while_the_broker_holds_a_fill_we_have_not_booked(account):
    """The cash read after a burst already contains an execution whose event is still on
    its way: taking it and then booking that event would debit the execution twice."""
    order = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("10"), type="market"
    )
    filled = broker_order(order.client_order_id, filled="10", avg="200", status="filled")
    gateway = StubGateway([[filled]], cash="98000")

    assert broker_balances_settle(account_id=account.pk, gateway=gateway, since=None) is None
    assert BrokerAccount.objects.get(pk=account.pk).cash == Decimal("100000.00")

    broker_trade_update_apply(account_id=account.pk, update=fill_event(filled, "10", "200"))
    gateway.cash = Decimal("97999.50")  # a fee the fill event did not carry
    assert broker_balances_settle(account_id=account.pk, gateway=gateway, since=None) is True
    assert BrokerAccount.objects.get(pk=account.pk).cash == Decimal("97999.50")


def test_our_open_orders_missing_from_the_lists_are_looked_up(account):
    order = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("2"), type="market"
    )
    order_apply_broker_state(
        order_id=order.pk, broker_order=broker_order(order.client_order_id, qty="2")
    )
    gateway = StubGateway([[]], positions=[BrokerPosition("AAPL", Decimal("2"), Decimal("200"))])
    gateway.by_cid[order.client_order_id] = broker_order(
        order.client_order_id, qty="2", filled="2", avg="200", status="filled"
    )

    broker_account_resync(account_id=account.pk, gateway=gateway, since=None)

    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED and order.filled_qty == Decimal("2")
