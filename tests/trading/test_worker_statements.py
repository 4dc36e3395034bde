"""The order worker's statements per job, and the rows and seqs a venue booking leaves."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from tests.factories import make_account
from tests.trading.test_services_fills import update
from trading import signals
from trading.broker.simulated.venue import VenueBooking, venue_booking
from trading.models import BrokerAccount, Fill, Instrument, Order, Position
from trading.services.fills import trade_update_apply
from trading.services.orders import order_submit
from trading.work_queue import job_claim_next
from trading.worker import job_run

# A market buy that fills at once, the claim and SQLite's BEGIN not counted: the order
# and its account (1), the venue's price, position, position write and order insert (4),
# the account and order locked (2), the fill's insert, books (2 reads), order update, mark
# price, position write and account update (7), the job's release (1). 18 before: the
# `new` update's order and orders_seq writes are now the fill's (-2), and the order is
# not read again after the venue's answer (-1).
JOB_STATEMENTS = 15


def _price(symbol: str = "AAPL", price: str = "200.00") -> None:
    # The price this test counts against, whatever an earlier test left.
    Instrument.objects.update_or_create(
        symbol=symbol, defaults={"price": Decimal(price), "prev_close": Decimal(price)}
    )


@pytest.fixture
def events() -> Iterator[list[tuple[str, int, dict[str, Any]]]]:
    seen: list[tuple[str, int, dict[str, Any]]] = []
    hooks = {
        "order": signals.order_updated,
        "trade": signals.trade_executed,
        "position": signals.position_changed,
        "account": signals.account_changed,
    }
    receivers = {}
    for name, signal in hooks.items():

        def receiver(*, seq: int, _name: str = name, **payload: Any) -> None:
            seen.append((_name, seq, payload))

        receivers[name] = receiver
        signal.connect(receiver, dispatch_uid=f"test-statements-{name}")
    yield seen
    for name, signal in hooks.items():
        signal.disconnect(dispatch_uid=f"test-statements-{name}")


def _run_one_job(statements: list[str]) -> None:
    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    job = job_claim_next(worker_id="w")
    assert job is not None
    with connection.execute_wrapper(record):
        job_run(job, worker_id="w")


def _buy(account: BrokerAccount, qty: str = "1", **extra: Any) -> Order:
    return order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal(qty), type="market", **extra
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_filled_market_buy_takes_fifteen_statements_opening_or_adding(settings):
    settings.SIMULATED_BROKER_LATENCY_SECONDS = 0.0
    _price()
    account = make_account("counted")
    for _ in range(2):  # the first opens the position, the second adds to it
        _buy(account)
        statements: list[str] = []
        _run_one_job(statements)
        # SQLite's BEGIN IMMEDIATE is a statement of its own; PostgreSQL's BEGIN is not seen.
        counted = [sql for sql in statements if not sql.startswith("BEGIN")]
        assert len(counted) == JOB_STATEMENTS, "\n".join(counted)
    assert Position.objects.get(account=account, symbol="AAPL").qty == Decimal("2")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_booking_writes_every_change_and_the_seqs_follow_one_another(settings, events):
    settings.SIMULATED_BROKER_LATENCY_SECONDS = 0.0
    _price()
    account = make_account("seqs")
    order = _buy(account, "3")
    before = BrokerAccount.objects.get(pk=account.pk)
    events.clear()

    _run_one_job([])

    order.refresh_from_db()
    assert (order.status, order.filled_qty) == ("filled", Decimal("3"))
    assert order.broker_order_id
    assert order.filled_avg_price == Decimal("200")
    after = BrokerAccount.objects.get(pk=account.pk)
    orders = [(name, seq) for name, seq, _ in events if name in ("order", "trade")]
    # `new`, the trade, the order filled: three orders seqs, one after another, all written.
    base = before.orders_seq
    assert orders == [("order", base + 1), ("trade", base + 2), ("order", base + 3)]
    assert after.orders_seq == base + 3
    assert [p["order"].status for n, _, p in events if n == "order"] == ["new", "filled"]
    assert after.positions_seq == before.positions_seq + 1
    assert after.cash == before.cash - Decimal("600.00")
    assert Fill.objects.get(order=order).price == Decimal("200")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_new_without_fills_is_written_at_once(settings, events):
    settings.SIMULATED_BROKER_LATENCY_SECONDS = 0.0
    _price()
    account = make_account("resting")
    order = order_submit(
        account=account,
        symbol="AAPL",
        side="buy",
        qty=Decimal("1"),
        type="limit",
        limit_price=Decimal("150.00"),
    )
    before = BrokerAccount.objects.get(pk=account.pk).orders_seq

    _run_one_job([])

    order.refresh_from_db()
    assert order.status == "new"
    assert order.broker_order_id
    assert BrokerAccount.objects.get(pk=account.pk).orders_seq == before + 1


@pytest.mark.parametrize(
    "following",
    [
        {"qty": "5", "price": "200"},  # overfills the order of 1: refused
        {"qty": "0", "price": "200"},  # malformed: refused
    ],
)
def test_a_deferred_new_is_written_when_the_update_behind_it_writes_nothing(account, following):
    _price()
    order = _buy(account)
    seq = BrokerAccount.objects.get(pk=account.pk).orders_seq
    booking = VenueBooking(2)
    token = venue_booking.set(booking)
    try:
        for event in (update(order, "new"), update(order, "fill", execution_id="x-1", **following)):
            booking.following -= 1
            trade_update_apply(account.pk, event)
    finally:
        venue_booking.reset(token)

    order.refresh_from_db()
    assert (order.status, order.broker_order_id) == ("new", f"broker-{order.client_order_id}")
    assert BrokerAccount.objects.get(pk=account.pk).orders_seq == seq + 1
    assert not Fill.objects.filter(order=order).exists()
