"""Order services: validation, buying power, cancels, and applying the broker's view."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import make_account, set_price
from trading.broker.simulated.venue import SimulatedGateway, to_broker_order
from trading.broker.types import OrderRequest
from trading.enums import JobKind, JobStatus, OrderStatus
from trading.models import BrokerAccount, Instrument, Order, OrderJob, SimulatedOrder
from trading.services.common import DomainError
from trading.services.fills import trade_update_apply
from trading.services.orders import (
    order_apply_broker_state,
    order_cancel_request,
    order_reject,
    order_submit,
)
from trading.services.prices import price_apply

D = Decimal
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


def submit(account: BrokerAccount, **fields: object) -> Order:
    params: dict[str, object] = {"symbol": "AAPL", "side": "buy", "qty": D("10"), "type": "market"}
    params.update(fields)
    return order_submit(account=account, **params)  # type: ignore[arg-type]


def balances(account: BrokerAccount) -> tuple[Decimal, Decimal]:
    account.refresh_from_db()
    return account.cash, account.buying_power


def trade_at_venue(account: BrokerAccount, symbol: str, side: str, qty: str) -> None:
    """Trade at the venue at the instrument's price, past our checks; both books follow."""
    gateway = SimulatedGateway(account.pk, trade_update_apply, max_fill_qty=D("1000000"))
    client_order_id = uuid.uuid4().hex
    gateway.submit_order(OrderRequest(client_order_id, symbol, side, "market", "day", D(qty), None))


@pytest.fixture(autouse=True)
def aapl_at_200(db: None) -> Instrument:
    return set_price("AAPL", "200.00")


# --- submit and buying power -------------------------------------------------------------


def test_submit_creates_order_and_job_and_reserves(account):
    order = submit(account, symbol=" aapl ")
    assert (order.symbol, order.status, order.qty) == ("AAPL", OrderStatus.PENDING_NEW, D("10"))
    assert order.broker_order_id is None
    job = OrderJob.objects.get(order=order)
    assert (job.kind, job.status) == (JobKind.SUBMIT, JobStatus.QUEUED)
    # A market buy holds at 3% above the last price: 10 x 206.00
    assert balances(account) == (D("100000.00"), D("97940.00"))
    assert order.buying_power_hold == D("2060.00")
    assert (account.orders_seq, account.account_seq) == (1, 1)


def test_submit_with_exactly_enough_buying_power(account):
    submit(account, qty=D("500"), type="limit", limit_price=D("200.00"))  # 100000.00
    assert balances(account)[1] == D("0.00")


def test_market_buy_with_exactly_enough_buying_power_at_the_collar(account):
    # 485.436893 x 206.00 = 99999.999958, held as 100000.00 (rounded up, never down)
    submit(account, qty=D("485.436893"))
    assert balances(account)[1] == D("0.00")


def test_insufficient_buying_power_refuses_and_writes_nothing(
    account, django_capture_on_commit_callbacks
):
    account.refresh_from_db()
    before = (account.cash, account.buying_power, account.orders_seq, account.account_seq)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(DomainError) as raised:
            # 500.05 x 200 = 100010.00 > 100000.00
            submit(account, qty=D("500.05"), type="limit", limit_price=D("200.00"))
    assert raised.value.code == "insufficient_buying_power"
    assert raised.value.field == "qty"
    assert "$100,010.00" in raised.value.message
    assert "$100,000.00" in raised.value.message
    assert not Order.objects.exists()
    assert not OrderJob.objects.exists()
    account.refresh_from_db()
    assert (account.cash, account.buying_power, account.orders_seq, account.account_seq) == before
    assert callbacks == []


def test_market_buy_beyond_buying_power_at_the_collar_is_refused_up_front(account):
    # 486 x 200 = 97200 would fit, but a market buy is held at 206.00: 100116.00
    with pytest.raises(DomainError) as raised:
        submit(account, qty=D("486"))
    assert raised.value.code == "insufficient_buying_power"
    assert raised.value.message == (
        "Insufficient buying power: this order needs $100,116.00 (at $206.00 a share, "
        "3% above $200.00) and $100,000.00 is available."
    )


def test_open_orders_count_against_buying_power(account):
    submit(account, qty=D("300"))  # 300 x 206 = 61800 held back, 38200 left
    with pytest.raises(DomainError) as raised:
        submit(account, qty=D("186"))  # 38316
    assert raised.value.code == "insufficient_buying_power"
    submit(account, qty=D("185"))  # 38110
    assert balances(account)[1] == D("90.00")


def test_holds_do_not_move_with_the_price(account):
    submit(account, qty=D("300"))  # 61800 held back
    price_apply(symbol="AAPL", price=D("150.00"), at=NOW)
    # At 150 the same order would hold less, but it was accepted against 61800.
    assert balances(account)[1] == D("38200.00")


def test_limit_order_reserves_at_its_limit_price(account):
    submit(account, type="limit", limit_price=D("150.00"))
    assert balances(account)[1] == D("98500.00")  # 10 x 150, not 10 x 200


def test_short_sale_needs_its_value(account):
    set_price("TSLA", "250.00")
    with pytest.raises(DomainError) as raised:
        # Held at 3% above the last price, as Alpaca does: 389 x 257.50 = 100167.50
        submit(account, symbol="TSLA", side="sell", qty=D("389"))
    assert raised.value.code == "insufficient_buying_power"
    submit(account, symbol="TSLA", side="sell", qty=D("388"))  # 99910.00
    assert balances(account)[1] == D("90.00")


def test_limit_short_sale_holds_at_its_limit_or_the_collar_whichever_is_higher(account):
    set_price("TSLA", "250.00")
    submit(account, symbol="TSLA", side="sell", qty=D("10"), type="limit", limit_price=D("300"))
    assert balances(account)[1] == D("97000.00")  # 10 x 300: it fills at 300 or above
    submit(account, symbol="TSLA", side="sell", qty=D("10"), type="limit", limit_price=D("200"))
    assert balances(account)[1] == D("94425.00")  # 10 x 257.50: it fills at the market


def test_selling_a_held_long_needs_no_buying_power(account):
    trade_at_venue(account, "AAPL", "buy", "490")  # cash 100000 - 98000
    assert balances(account) == (D("2000.00"), D("2000.00"))
    submit(account, side="sell", qty=D("490"))
    assert balances(account)[1] == D("2000.00")
    # 11 beyond the long go short: 11 x 206 = 2266 > 2000
    with pytest.raises(DomainError) as raised:
        submit(account, side="sell", qty=D("501"))
    assert raised.value.code == "insufficient_buying_power"


def test_a_losing_short_can_always_be_covered(db):
    small = make_account("small", cash="8000.00")
    set_price("TSLA", "250.00")
    trade_at_venue(small, "TSLA", "sell", "10")
    assert balances(small) == (D("10500.00"), D("5500.00"))  # 10500 - 2500 x 2
    price_apply(symbol="TSLA", price=D("400.00"), at=NOW)
    assert balances(small)[1] == D("2500.00")  # 10500 - 4000 x 2
    # The cover (4000 notional) releases margin, so it needs none.
    order = submit(small, symbol="TSLA", side="buy", qty=D("10"))
    assert order.status == OrderStatus.PENDING_NEW
    assert balances(small)[1] == D("2500.00")
    # Beyond the short it opens a long, which does: 7 x 400 = 2800 > 2500.
    with pytest.raises(DomainError):
        submit(small, symbol="TSLA", side="buy", qty=D("17"))


def test_two_sells_of_one_long_cannot_go_short_unchecked(db):
    small = make_account("small", cash="3000.00")
    trade_at_venue(small, "AAPL", "buy", "10")  # cash 3000 - 2000
    assert balances(small) == (D("1000.00"), D("1000.00"))
    submit(small, side="sell", qty=D("10"))  # covered by the long: needs nothing
    # The first sell already uses the long: a second one would open a 10-share short,
    # which needs 10 x 200 = 2000 > 1000.
    with pytest.raises(DomainError) as raised:
        submit(small, side="sell", qty=D("10"))
    assert raised.value.code == "insufficient_buying_power"


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"symbol": "ZZZZ"}, "symbol", "unknown_symbol"),
        ({"symbol": "not a symbol!"}, "symbol", "unknown_symbol"),
        ({"symbol": ""}, "symbol", "unknown_symbol"),
        ({"qty": D("0")}, "qty", "invalid"),
        ({"qty": D("-1")}, "qty", "invalid"),
        ({"qty": D("0.0000001")}, "qty", "invalid"),  # 7 decimals
        ({"qty": D("1000001")}, "qty", "invalid"),
        ({"type": "limit"}, "limit_price", "invalid"),
        ({"type": "limit", "limit_price": D("0")}, "limit_price", "invalid"),
        ({"type": "limit", "limit_price": D("1.00001")}, "limit_price", "invalid"),
        ({"type": "market", "limit_price": D("150")}, "limit_price", "invalid"),
        ({"side": "short"}, "side", "invalid"),
        ({"type": "stop"}, "type", "invalid"),
        ({"time_in_force": "fok"}, "time_in_force", "invalid"),
    ],
)
def test_invalid_orders_are_refused(account, fields, field, code):
    with pytest.raises(DomainError) as raised:
        submit(account, **fields)
    assert (raised.value.field, raised.value.code) == (field, code)
    assert not Order.objects.exists()
    assert balances(account)[1] == D("100000.00")


def test_untradable_or_unpriced_instrument_is_refused(account):
    Instrument.objects.filter(symbol="MSFT").update(tradable=False)
    Instrument.objects.filter(symbol="TSLA").update(price=None)
    for symbol in ("MSFT", "TSLA"):
        with pytest.raises(DomainError) as raised:
            submit(account, symbol=symbol)
        assert raised.value.field == "symbol"


def test_client_order_id_makes_a_retry_return_the_same_order(account, other_account):
    first = submit(account, client_order_id="retry-1")
    again = submit(account, client_order_id="retry-1")
    assert again.pk == first.pk
    assert Order.objects.count() == OrderJob.objects.count() == 1
    with pytest.raises(DomainError) as raised:
        submit(account, client_order_id="retry-1", qty=D("99"))  # another order, same key
    assert (raised.value.field, raised.value.code) == ("client_order_id", "idempotency_key_reused")
    # Another account's key is its own: a second order, not an error.
    theirs = submit(other_account, client_order_id="retry-1")
    assert theirs.pk != first.pk
    assert Order.objects.count() == OrderJob.objects.count() == 2


# --- cancel ------------------------------------------------------------------------------


def test_cancel_of_an_unsent_order_is_immediate(account, work_queue):
    order = submit(account, type="limit", limit_price=D("150"))
    canceled = order_cancel_request(account=account, order_id=order.pk)
    assert canceled.status == OrderStatus.CANCELED
    assert canceled.canceled_at is not None
    job = OrderJob.objects.get(order=order)  # no cancel job
    assert (job.kind, job.status, job.last_error) == (
        JobKind.SUBMIT,
        JobStatus.DONE,
        "canceled before submission",
    )
    assert balances(account)[1] == D("100000.00")  # the reservation is released
    assert work_queue() == 0
    assert not SimulatedOrder.objects.exists()  # the broker never heard of it


def test_cancel_of_an_order_at_the_broker_goes_through_the_queue(account, work_queue):
    order = submit(account, type="limit", limit_price=D("150"))
    assert work_queue() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert order.broker_order_id is not None

    order = order_cancel_request(account=account, order_id=order.pk)
    assert order.status == OrderStatus.PENDING_CANCEL
    assert balances(account)[1] == D("98500.00")  # still held until the broker confirms
    # A second request while pending is a no-op.
    order_cancel_request(account=account, order_id=order.pk)
    assert OrderJob.objects.filter(order=order, kind=JobKind.CANCEL).count() == 1

    assert work_queue() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert order.canceled_at is not None
    assert SimulatedOrder.objects.get().status == OrderStatus.CANCELED
    assert balances(account)[1] == D("100000.00")


def test_cancel_of_a_filled_order_is_refused(account, work_queue):
    order = submit(account)
    work_queue()
    with pytest.raises(DomainError) as raised:
        order_cancel_request(account=account, order_id=order.pk)
    assert raised.value.code == "not_cancelable"
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED


def test_cancel_of_another_accounts_order_is_not_found(account, other_account):
    order = submit(account)
    with pytest.raises(Order.DoesNotExist):
        order_cancel_request(account=other_account, order_id=order.pk)


# --- broker state and rejects ------------------------------------------------------------


def test_order_reject_ends_the_order_and_releases_buying_power(account):
    order = submit(account)
    rejected = order_reject(order_id=order.pk, reason="asset AAPL is not tradable")
    assert rejected.status == OrderStatus.REJECTED
    assert rejected.reject_reason == "asset AAPL is not tradable"
    assert rejected.failed_at is not None
    assert balances(account)[1] == D("100000.00")
    # Rejecting again changes nothing.
    assert order_reject(order_id=order.pk, reason="other").reject_reason == (
        "asset AAPL is not tradable"
    )


def _venue_copy(order: Order, status: str) -> SimulatedOrder:
    return SimulatedOrder(
        account_id=order.account_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        qty=order.qty,
        limit_price=order.limit_price,
        status=status,
        submitted_at=NOW,
        updated_at=NOW,
    )


def test_apply_broker_state_records_id_and_advances(account):
    order = submit(account)
    broker = to_broker_order(_venue_copy(order, OrderStatus.NEW))
    applied = order_apply_broker_state(order_id=order.pk, broker_order=broker)
    assert (applied.broker_order_id, applied.status) == (broker.broker_order_id, OrderStatus.NEW)
    # A stale answer never moves it back.
    stale = replace(broker, status=OrderStatus.PENDING_NEW)
    assert order_apply_broker_state(order_id=order.pk, broker_order=stale).status == "new"


@pytest.mark.parametrize("status", [OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED])
def test_apply_broker_state_leaves_fill_statuses_to_trade_updates(account, status):
    order = submit(account)
    broker = to_broker_order(_venue_copy(order, status))
    applied = order_apply_broker_state(order_id=order.pk, broker_order=broker)
    assert applied.status == OrderStatus.PENDING_NEW
    assert applied.broker_order_id == broker.broker_order_id
