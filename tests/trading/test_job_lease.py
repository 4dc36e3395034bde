"""Job leases: renewed between broker calls, and every write of a run fenced by its claim."""

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import set_price
from trading.broker.types import BrokerOrder, BrokerPosition, BrokerRejected, OrderRequest
from trading.enums import JobKind, JobStatus, OrderStatus
from trading.models import BrokerAccount, Order, OrderJob
from trading.services.orders import order_submit
from trading.work_queue import LeaseLost, job_claim_next, job_complete, job_lease_renew
from trading.worker import job_run

D = Decimal


class ScriptedBroker:
    """A BrokerGateway whose calls run `during` (a pause, a takeover) before answering."""

    def __init__(self, during: Callable[[str], None] = lambda call: None) -> None:
        self.during = during
        self.orders: dict[str, BrokerOrder] = {}
        self.calls: list[str] = []
        self.reject_with: str | None = None

    def submit_order(self, request: OrderRequest) -> BrokerOrder:
        self.calls.append("submit")
        now = timezone.now()
        accepted = BrokerOrder(
            f"broker-{request.client_order_id}",
            request.client_order_id,
            request.symbol,
            request.side,
            request.type,
            request.time_in_force,
            request.qty,
            request.limit_price,
            D("0"),
            None,
            OrderStatus.NEW,
            now,
            now,
        )
        if self.reject_with is None:
            self.orders[request.client_order_id] = accepted
        self.during("submit")
        if self.reject_with is not None:
            raise BrokerRejected(self.reject_with)
        return accepted

    def cancel_order(self, broker_order_id: str) -> None:
        self.calls.append("cancel")
        self.during("cancel")
        for client_order_id, order in self.orders.items():
            if order.broker_order_id == broker_order_id:
                self.orders[client_order_id] = replace(order, status=OrderStatus.CANCELED)

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        self.calls.append("lookup")
        self.during("lookup")
        return self.orders.get(client_order_id)

    def list_positions(self) -> list[BrokerPosition]:
        return []


@pytest.fixture(autouse=True)
def _lease_settings(settings):
    settings.ORDER_JOB_LEASE_SECONDS = 30.0
    settings.ORDER_JOB_MAX_ATTEMPTS = 5


@pytest.fixture
def clock(monkeypatch) -> Callable[[float], None]:
    """Moves Django's clock forward without sleeping; returns the advance function."""
    offset = timedelta()
    real_now = timezone.now

    def now() -> datetime:
        return real_now() + offset

    def advance(seconds: float) -> None:
        nonlocal offset
        offset += timedelta(seconds=seconds)

    monkeypatch.setattr(timezone, "now", now)
    return advance


def claim(worker_id: str) -> OrderJob:
    job = job_claim_next(worker_id=worker_id)
    assert job is not None
    return job


def use_broker(monkeypatch, broker: ScriptedBroker) -> None:
    monkeypatch.setattr("trading.worker.gateway_for_account", lambda account: broker)


def limit_buy(account: BrokerAccount) -> Order:
    set_price("AAPL", "200.00")
    return order_submit(
        account=account,
        symbol="AAPL",
        side="buy",
        qty=D("5"),
        type="limit",
        limit_price=D("150.00"),
    )


def take_over(clock: Callable[[float], None], seized: list[OrderJob]) -> Callable[[str], None]:
    """During the broker's submit call, w1 stalls past its lease and w2 claims the job."""

    def during(call: str) -> None:
        if call == "submit":
            clock(31)
            job = job_claim_next(worker_id="w2")
            assert job is not None, "the expired lease was not up for grabs"
            seized.append(job)

    return during


def test_a_worker_whose_lease_was_taken_over_applies_nothing(account, monkeypatch, clock, caplog):
    order = limit_buy(account)
    seized: list[OrderJob] = []
    broker = ScriptedBroker(take_over(clock, seized))
    use_broker(monkeypatch, broker)
    job = claim("w1")

    with caplog.at_level(logging.WARNING, logger="trading.worker"):
        job_run(job, worker_id="w1")

    order.refresh_from_db()
    assert order.broker_order_id is None  # w1's answer from the broker was dropped
    assert order.status == OrderStatus.PENDING_NEW
    current = OrderJob.objects.get(pk=job.pk)
    assert (current.status, current.locked_by) == (JobStatus.RUNNING, "w2")
    assert "w1 applied nothing" in caplog.text

    # The new holder reconciles by client_order_id: found, so it is not placed twice.
    broker.during = lambda call: None
    job_run(seized[0], worker_id="w2")
    order.refresh_from_db()
    assert order.broker_order_id == f"broker-{order.client_order_id}"
    assert order.status == OrderStatus.NEW
    assert broker.calls.count("submit") == 1
    assert OrderJob.objects.get(pk=job.pk).status == JobStatus.DONE


def test_a_worker_whose_lease_was_taken_over_does_not_reject_the_order(account, monkeypatch, clock):
    order = limit_buy(account)
    broker = ScriptedBroker(take_over(clock, []))
    broker.reject_with = "insufficient buying power"
    use_broker(monkeypatch, broker)
    job = claim("w1")

    job_run(job, worker_id="w1")

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_NEW
    assert order.reject_reason == ""
    assert OrderJob.objects.get(pk=job.pk).locked_by == "w2"


def test_a_lost_lease_refuses_a_cancel_here_too(account, monkeypatch, clock):
    order = limit_buy(account)
    OrderJob.objects.filter(order=order).update(status=JobStatus.DONE)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PENDING_CANCEL)
    OrderJob.objects.create(order=order, kind=JobKind.CANCEL)

    def stall(call: str) -> None:
        clock(31)
        assert job_claim_next(worker_id="w2") is not None

    use_broker(monkeypatch, ScriptedBroker(stall))
    job = claim("w1")

    job_run(job, worker_id="w1")  # the broker knows no such order: w1 would cancel it here

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_CANCEL


def test_renewal_keeps_a_long_jobs_lease(account, monkeypatch, clock):
    order = limit_buy(account)
    rivals: list[OrderJob | None] = []

    def slow(call: str) -> None:
        # Each call takes 20 s, Alpaca's worst case; the whole submit outlasts the lease.
        clock(20)
        rivals.append(job_claim_next(worker_id="w2"))

    broker = ScriptedBroker(slow)
    use_broker(monkeypatch, broker)
    # A retry: it looks the order up before submitting, two calls in a row.
    OrderJob.objects.filter(order=order).update(attempts=1)
    job = claim("w1")

    job_run(job, worker_id="w1")

    assert broker.calls == ["lookup", "submit"]
    assert rivals == [None, None]  # never up for grabs while w1 worked
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    done = OrderJob.objects.get(pk=job.pk)
    assert (done.status, done.locked_by, done.attempts) == (JobStatus.DONE, "w1", 2)


def test_a_first_attempt_submits_without_a_lookup_a_retry_looks_first(account, monkeypatch):
    first, second = limit_buy(account), limit_buy(account)
    OrderJob.objects.filter(order=second).update(attempts=1)
    broker = ScriptedBroker()
    use_broker(monkeypatch, broker)

    job_run(claim("w1"), worker_id="w1")
    assert broker.calls == ["submit"]
    job_run(claim("w1"), worker_id="w1")
    assert broker.calls == ["submit", "lookup", "submit"]

    for order in (first, second):
        order.refresh_from_db()
        assert order.broker_order_id == f"broker-{order.client_order_id}"


def test_a_stale_run_of_the_same_worker_id_is_fenced_by_its_token(account, clock):
    limit_buy(account)
    first = claim("w1")
    clock(31)
    second = claim("w1")  # the same worker name, after a restart
    assert second.pk == first.pk
    assert second.lease_token != first.lease_token

    with pytest.raises(LeaseLost):
        job_lease_renew(first)
    assert job_complete(first, worker_id="w1") is False
    job_lease_renew(second)
    assert job_complete(second, worker_id="w1") is True


def test_an_expired_lease_cannot_be_renewed(account, clock):
    limit_buy(account)
    job = claim("w1")
    clock(31)

    with pytest.raises(LeaseLost):
        job_lease_renew(job)
