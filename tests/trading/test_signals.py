"""Domain signals: sent on commit, with account_id, a strictly increasing seq per channel,
and a copy of the object as it was when the change was made."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.dispatch import Signal

from tests.factories import set_price
from tests.trading.price_signals import connect_unfolded
from trading import signals
from trading.enums import OrderStatus
from trading.models import BrokerAccount, Order
from trading.services.orders import order_cancel_request, order_submit
from trading.services.prices import price_apply

D = Decimal
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)

# The seq counter each signal advances.
CHANNEL = {
    signals.order_updated: "orders",
    signals.trade_executed: "orders",
    signals.position_changed: "positions",
    signals.account_changed: "account",
}
OBJECT = {
    signals.order_updated: "order",
    signals.trade_executed: "fill",
    signals.position_changed: "position",
    signals.account_changed: "account",
}


@dataclass
class Sent:
    signal: Signal
    kwargs: dict[str, Any]

    @property
    def channel(self) -> str:
        return CHANNEL[self.signal]

    @property
    def obj(self) -> Any:
        return self.kwargs[OBJECT[self.signal]]


@pytest.fixture
def sent() -> Iterator[list[Sent]]:
    log: list[Sent] = []
    connected = []
    for signal in CHANNEL:

        def receiver(sender: object, signal: Signal = signal, **kwargs: Any) -> None:
            log.append(Sent(signal, kwargs))

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
    marks = connect_unfolded(lambda signal, kwargs: log.append(Sent(signal, kwargs)))
    connected.append((signals.prices_marked, marks))
    yield log
    for signal, receiver in connected:
        signal.disconnect(receiver)


def trade_and_mark(account: BrokerAccount, work_queue: Any) -> Order:
    """Buy, fill, move the price, place and cancel a limit order."""
    set_price("AAPL", "200.00")
    order = order_submit(account=account, symbol="AAPL", side="buy", qty=D("10"), type="market")
    work_queue()
    price_apply(symbol="AAPL", price=D("205.00"), at=NOW)
    limit = order_submit(
        account=account, symbol="AAPL", side="buy", qty=D("1"), type="limit", limit_price=D("1")
    )
    work_queue()
    order_cancel_request(account=account, order_id=limit.pk)
    work_queue()
    return order


def test_every_signal_carries_account_seq_and_object(
    account, sent, work_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        trade_and_mark(account, work_queue)

    assert {s.signal for s in sent} == set(CHANNEL)
    account.refresh_from_db()
    last_seq = {
        "orders": account.orders_seq,
        "positions": account.positions_seq,
        "account": account.account_seq,
    }
    for channel, final in last_seq.items():
        seqs = [s.kwargs["seq"] for s in sent if s.channel == channel]
        # Strictly increasing with no gaps, ending at the counter a snapshot would show.
        assert seqs == list(range(1, final + 1)), channel
    for s in sent:
        assert s.kwargs["account_id"] == account.pk
        assert s.obj is not None
    fills = [s for s in sent if s.signal is signals.trade_executed]
    assert len(fills) == 1
    assert fills[0].kwargs["order"].status == OrderStatus.FILLED
    assert (fills[0].obj.qty, fills[0].obj.price) == (D("10"), D("200.00"))


def test_signals_carry_a_copy_as_of_the_change(
    account, sent, work_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = trade_and_mark(account, work_queue)
    statuses = [
        s.obj.status for s in sent if s.signal is signals.order_updated and s.obj.pk == order.pk
    ]
    # The order changed after each of these; each event still shows its own moment.
    assert statuses == [OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.FILLED]
    assert len({id(s.obj) for s in sent}) == len(sent)
    positions = [s.obj for s in sent if s.signal is signals.position_changed]
    assert [p.current_price for p in positions] == [D("200.00"), D("205.00")]
    equities = [s.obj.equity for s in sent if s.signal is signals.account_changed]
    assert equities[-1] == D("100050.00")  # 98000 cash + 10 x 205


def test_nothing_is_sent_before_commit(account, sent):
    set_price("AAPL", "200.00")
    order_submit(account=account, symbol="AAPL", side="buy", qty=D("1"), type="market")
    # The test's transaction never commits: the change is written but not announced.
    assert sent == []


def test_a_rolled_back_transaction_sends_nothing(account, sent, django_capture_on_commit_callbacks):
    set_price("AAPL", "200.00")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            order_submit(account=account, symbol="AAPL", side="buy", qty=D("1"), type="market")
            price_apply(symbol="AAPL", price=D("201.00"), at=NOW)
            raise RuntimeError("abort")
    assert callbacks == []
    assert sent == []
    account.refresh_from_db()
    assert (account.orders_seq, account.positions_seq, account.account_seq) == (0, 0, 0)
    assert not Order.objects.exists()


def test_seq_is_per_account(account, other_account, sent, django_capture_on_commit_callbacks):
    set_price("AAPL", "200.00")
    with django_capture_on_commit_callbacks(execute=True):
        for who in (account, other_account, account):
            order_submit(account=who, symbol="AAPL", side="buy", qty=D("1"), type="market")
    orders = [
        (s.kwargs["account_id"], s.kwargs["seq"]) for s in sent if s.signal is signals.order_updated
    ]
    assert orders == [(account.pk, 1), (other_account.pk, 1), (account.pk, 2)]


def test_a_failing_receiver_does_not_stop_the_others(
    account, sent, django_capture_on_commit_callbacks
):
    def broken(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.order_updated.connect(broken, weak=False)
    try:
        set_price("AAPL", "200.00")
        with django_capture_on_commit_callbacks(execute=True):
            order_submit(account=account, symbol="AAPL", side="buy", qty=D("1"), type="market")
    finally:
        signals.order_updated.disconnect(broken)
    assert [s.signal for s in sent] == [signals.order_updated, signals.account_changed]
