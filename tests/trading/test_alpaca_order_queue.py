"""Orders of an Alpaca account go through the real order queue to the local Alpaca."""

from decimal import Decimal

from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    alpaca_account_fixture,
    fake_alpaca_fixture,
)
from trading.enums import JobStatus, OrderStatus
from trading.models import Order, OrderJob
from trading.services.credentials import broker_unlink
from trading.services.gateways import gateway_for_account
from trading.services.orders import order_cancel_request, order_submit


def submit(account, qty: str = "2", **kw) -> Order:
    return order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal(qty), type="market", **kw
    )


def test_gateway_for_an_alpaca_account_is_the_alpaca_gateway(alpaca_account):
    gateway = gateway_for_account(alpaca_account)

    assert type(gateway).__name__ == "AlpacaGateway"
    assert gateway_for_account(alpaca_account) is gateway  # one warm session per thread


def test_the_worker_places_the_order_at_alpaca_with_our_client_order_id(
    alpaca_account, fake_alpaca, work_queue
):
    fake_alpaca.account(KEY_ID).auto_fill = False
    order = submit(alpaca_account)

    assert work_queue() == 1

    placed = fake_alpaca.order(KEY_ID, order.client_order_id)
    assert placed is not None and placed["qty"] == "2"
    order.refresh_from_db()
    assert order.broker_order_id == placed["id"]
    assert order.status == OrderStatus.ACCEPTED
    # A first attempt places it without looking first (a re-run looks: the next test).
    assert len(fake_alpaca.requests("POST", "/v2/orders")) == 1
    assert not fake_alpaca.requests("GET", "/v2/orders:by_client_order_id")


def test_a_rerun_after_a_lost_response_does_not_place_the_order_twice(
    alpaca_account, fake_alpaca, work_queue
):
    order = submit(alpaca_account)
    # Alpaca took the order but the answer never arrived: the job failed and will rerun.
    fake_alpaca.broker.submit(
        fake_alpaca.account(KEY_ID),
        {
            "symbol": "AAPL",
            "qty": "2",
            "side": "buy",
            "type": "market",
            "time_in_force": "day",
            "client_order_id": order.client_order_id,
        },
    )

    OrderJob.objects.filter(order=order).update(attempts=1)  # that attempt timed out

    work_queue()

    assert len(fake_alpaca.account(KEY_ID).orders) == 1
    assert not fake_alpaca.requests("POST", "/v2/orders")
    order.refresh_from_db()
    assert order.broker_order_id == fake_alpaca.order(KEY_ID, order.client_order_id)["id"]


def test_a_requeued_first_attempt_alpaca_already_has_is_not_placed_twice(
    alpaca_account, fake_alpaca, work_queue
):
    fake_alpaca.account(KEY_ID).auto_fill = False
    order = submit(alpaca_account)
    # An earlier run placed it, failed on the lost answer, and an operator requeued the
    # job: its attempts start again, so it submits without looking first.
    fake_alpaca.broker.submit(
        fake_alpaca.account(KEY_ID),
        {
            "symbol": "AAPL",
            "qty": "2",
            "side": "buy",
            "type": "market",
            "time_in_force": "day",
            "client_order_id": order.client_order_id,
        },
    )

    assert work_queue() == 1

    # Alpaca refused the duplicate; the gateway answered with the order Alpaca holds.
    assert len(fake_alpaca.account(KEY_ID).orders) == 1
    assert len(fake_alpaca.requests("POST", "/v2/orders")) == 1
    order.refresh_from_db()
    assert order.broker_order_id == fake_alpaca.order(KEY_ID, order.client_order_id)["id"]
    assert OrderJob.objects.get(order=order).status == JobStatus.DONE


def test_insufficient_buying_power_at_alpaca_rejects_the_order_with_its_reason(
    alpaca_account, fake_alpaca, work_queue
):
    fake_alpaca.set_buying_power(KEY_ID, "100.00")
    order = submit(alpaca_account)

    work_queue()

    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == (
        "Insufficient buying power at Alpaca: this order needs $400.00 and $100.00 is available."
    )
    assert OrderJob.objects.get(order=order).status == JobStatus.DONE


def test_rate_limited_submits_are_retried_later_by_the_queue(
    alpaca_account, fake_alpaca, work_queue
):
    fake_alpaca.fail_next("POST", "/v2/orders", 429, {"code": 42910000, "message": "rate limit"})
    order = submit(alpaca_account)

    work_queue()

    job = OrderJob.objects.get(order=order)
    assert job.status == JobStatus.QUEUED and job.attempts == 1
    assert "rate limit" in job.last_error
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_NEW


def test_refused_keys_reject_the_order_and_fail_the_job(alpaca_account, fake_alpaca, work_queue):
    fake_alpaca.account(KEY_ID).secret_key = "rotated-at-alpaca"
    order = submit(alpaca_account)

    work_queue()

    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert "Alpaca refused the API keys" in order.reject_reason
    assert OrderJob.objects.get(order=order).status == JobStatus.FAILED


def test_an_unlinked_account_cannot_reach_alpaca(alpaca_account, fake_alpaca, work_queue):
    order = submit(alpaca_account)
    broker_unlink(user=alpaca_account.user)

    work_queue()

    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert "No Alpaca API keys are linked" in order.reject_reason
    assert not fake_alpaca.requests()


def test_cancel_goes_to_alpaca(alpaca_account, fake_alpaca, work_queue):
    fake_alpaca.account(KEY_ID).auto_fill = False
    order = submit(alpaca_account)
    work_queue()

    order_cancel_request(account=alpaca_account, order_id=order.pk)
    work_queue()

    assert fake_alpaca.order(KEY_ID, order.client_order_id)["status"] == "canceled"
    order.refresh_from_db()
    assert fake_alpaca.requests("DELETE", f"/v2/orders/{order.broker_order_id}")
    # The outcome arrives as a `canceled` trade update (the stream); until then: pending.
    assert order.status == OrderStatus.PENDING_CANCEL
