"""A cancel after a submit that timed out goes to the broker: only a never-sent order ends here."""

from decimal import Decimal

import pytest

from tests.factories import set_price
from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    alpaca_account_fixture,
    fake_alpaca_fixture,
    wait_until,
)
from trading.broker.alpaca import gateway as alpaca_gateway_module
from trading.broker.alpaca.gateway import AlpacaGateway
from trading.broker.simulated.venue import SimulatedGateway
from trading.broker.types import BrokerUnavailable, TradeUpdate
from trading.enums import JobKind, JobStatus, OrderStatus
from trading.models import BrokerAccount, Order, OrderJob, SimulatedOrder
from trading.services.orders import order_cancel_request, order_submit
from trading.services.venue_matching import venue_match

D = Decimal


def limit_buy(account: BrokerAccount, qty: str = "5") -> Order:
    """Rests at the venue: AAPL trades at 200, the limit is 150 (750 held back)."""
    return order_submit(
        account=account,
        symbol="AAPL",
        side="buy",
        qty=D(qty),
        type="limit",
        limit_price=D("150.00"),
    )


def buying_power(account: BrokerAccount) -> Decimal:
    account.refresh_from_db()
    return account.buying_power


def submit_job(order: Order) -> OrderJob:
    return OrderJob.objects.get(order=order, kind=JobKind.SUBMIT)


@pytest.fixture
def aapl(db):
    return set_price("AAPL", "200.00")


@pytest.fixture
def retry_later(monkeypatch):
    """A failed submit waits a minute for its retry, as in production."""
    monkeypatch.setattr("trading.work_queue.retry_delay_seconds", lambda attempts: 60.0)


@pytest.fixture
def accepts_then_times_out(monkeypatch, retry_later):
    """The venue takes the order, then its answer (and its `new` event) is lost in transit."""
    lost: list[TradeUpdate] = []

    def gateway(account: BrokerAccount) -> SimulatedGateway:
        return SimulatedGateway(
            account.pk,
            lambda account_id, update: lost.append(update),
            max_fill_qty=D("1000"),
            latency_seconds=30.0,
            answer_timeout_seconds=0.0,
        )

    monkeypatch.setattr("trading.worker.gateway_for_account", gateway)
    return lost


def test_a_cancel_after_a_timed_out_submit_goes_to_the_broker(
    account, aapl, work_queue, monkeypatch, accepts_then_times_out
):
    order = limit_buy(account)
    assert work_queue() == 1
    job = submit_job(order)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
    assert job.last_error == "the simulated broker did not answer in time"
    assert SimulatedOrder.objects.get().status == OrderStatus.NEW  # live at the venue
    assert buying_power(account) == D("99250.00")

    canceled = order_cancel_request(account=account, order_id=order.pk)

    assert canceled.status == OrderStatus.PENDING_CANCEL
    assert canceled.canceled_at is None
    assert buying_power(account) == D("99250.00")  # held until the broker confirms
    job.refresh_from_db()
    assert job.status == JobStatus.DONE  # superseded: its retry would place it again
    monkeypatch.undo()  # the broker answers again
    assert work_queue() == 1  # the cancel job
    venue = SimulatedOrder.objects.get()
    assert venue.status == OrderStatus.CANCELED
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert order.broker_order_id == str(venue.broker_order_id)
    assert buying_power(account) == D("100000.00")


def test_a_fill_before_the_broker_confirms_the_cancel_is_booked_as_a_fill(
    account, aapl, work_queue, monkeypatch, accepts_then_times_out
):
    order = limit_buy(account)
    work_queue()
    order_cancel_request(account=account, order_id=order.pk)
    monkeypatch.undo()

    # The price reaches the limit before the cancel job runs: the venue fills the order.
    assert venue_match("AAPL", D("150.00"), max_fill_qty=D("1000")) == 1
    work_queue()

    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.canceled_at is None  # never canceled here, not even for a moment
    account.refresh_from_db()
    assert account.cash == D("99250.00")
    assert account.buying_power == D("99250.00")


def test_an_attempted_submit_that_never_reached_the_broker_is_canceled_after_a_lookup(
    account, aapl, work_queue, monkeypatch, retry_later
):
    def unavailable(self, request):
        raise BrokerUnavailable("connection refused")

    monkeypatch.setattr(SimulatedGateway, "submit_order", unavailable)
    order = limit_buy(account)
    work_queue()

    assert order_cancel_request(account=account, order_id=order.pk).status == (
        OrderStatus.PENDING_CANCEL
    )
    monkeypatch.undo()
    assert work_queue() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert not SimulatedOrder.objects.exists()  # the submit was never retried
    assert buying_power(account) == D("100000.00")


def test_a_never_attempted_submit_is_still_canceled_at_once(account, aapl, work_queue):
    order = limit_buy(account)

    canceled = order_cancel_request(account=account, order_id=order.pk)

    assert canceled.status == OrderStatus.CANCELED
    assert submit_job(order).last_error == "canceled before submission"
    assert not OrderJob.objects.filter(order=order, kind=JobKind.CANCEL).exists()
    assert work_queue() == 0


def test_a_cancel_after_an_alpaca_submit_timed_out_goes_to_alpaca(
    alpaca_account, fake_alpaca, work_queue, monkeypatch, retry_later
):
    fake_alpaca.account(KEY_ID).auto_fill = False
    order = order_submit(
        account=alpaca_account, symbol="AAPL", side="buy", qty=D("2"), type="market"
    )
    # Alpaca takes the POST, but answers after our read timeout.
    monkeypatch.setattr(alpaca_gateway_module, "REQUEST_TIMEOUT_SECONDS", (5.0, 0.2))
    submit = AlpacaGateway.submit_order

    def slow_answer(self, request):
        fake_alpaca.rest_controls.delay_seconds = 0.6
        try:
            return submit(self, request)
        finally:
            fake_alpaca.rest_controls.delay_seconds = 0.0

    monkeypatch.setattr(AlpacaGateway, "submit_order", slow_answer)
    assert work_queue() == 1
    assert submit_job(order).last_error == "Alpaca did not answer in time."
    wait_until(
        lambda: fake_alpaca.order(KEY_ID, order.client_order_id) is not None,
        what="Alpaca to hold the order",
    )
    held = buying_power(alpaca_account)

    canceled = order_cancel_request(account=alpaca_account, order_id=order.pk)

    assert canceled.status == OrderStatus.PENDING_CANCEL
    assert buying_power(alpaca_account) == held
    monkeypatch.undo()
    assert work_queue() == 1
    placed = fake_alpaca.order(KEY_ID, order.client_order_id)
    assert placed["status"] == "canceled"
    assert fake_alpaca.requests("DELETE", f"/v2/orders/{placed['id']}")
    assert len(fake_alpaca.requests("POST", "/v2/orders")) == 1  # never placed twice
    order.refresh_from_db()
    assert order.broker_order_id == placed["id"]
    # Alpaca's `canceled` arrives on the trade stream; until then the order holds.
    assert order.status == OrderStatus.PENDING_CANCEL
