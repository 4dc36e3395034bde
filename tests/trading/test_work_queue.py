"""The order work queue in-process: claims, leases, retries with backoff, failure, requeue."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import set_price
from trading.broker.simulated.venue import SimulatedGateway
from trading.broker.types import BrokerUnavailable, TradeUpdate
from trading.enums import JobKind, JobStatus, OrderStatus
from trading.models import Instrument, Order, OrderJob, Position, SimulatedOrder
from trading.services.orders import order_submit
from trading.work_queue import (
    job_claim_next,
    job_complete,
    job_fail,
    job_retry,
    jobs_requeue,
    retry_delay_seconds,
)


@pytest.fixture(autouse=True)
def _queue_settings(settings):
    settings.ORDER_JOB_LEASE_SECONDS = 30.0
    settings.ORDER_JOB_MAX_ATTEMPTS = 3
    settings.ORDER_JOB_MAX_BACKOFF_SECONDS = 60.0
    settings.SIMULATED_BROKER_LATENCY_SECONDS = 0.0


def _buy(account, qty: str = "5") -> Order:
    set_price("AAPL", "200.00")
    return order_submit(account=account, symbol="AAPL", side="buy", qty=Decimal(qty), type="market")


def _expire_lease(job: OrderJob) -> None:
    OrderJob.objects.filter(pk=job.pk).update(locked_until=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def broker_down(monkeypatch):
    """The simulated broker answers every submit with a transient failure."""

    def unavailable(self, request):
        raise BrokerUnavailable("503 Service Unavailable")

    monkeypatch.setattr(SimulatedGateway, "submit_order", unavailable)


def test_claim_takes_the_oldest_due_job_under_a_lease(account):
    first, second = _buy(account), _buy(account)
    before = timezone.now()

    job = job_claim_next(worker_id="w1")

    assert job is not None
    assert job.order_id == first.pk
    assert job.kind == JobKind.SUBMIT
    assert job.status == JobStatus.RUNNING
    assert job.attempts == 1
    assert job.locked_by == "w1"
    assert job.locked_until is not None
    lease = (job.locked_until - before).total_seconds()
    assert 29 <= lease <= 31
    following = job_claim_next(worker_id="w2")
    assert following is not None
    assert following.order_id == second.pk
    assert job_claim_next(worker_id="w3") is None


def test_a_job_that_is_not_due_yet_is_not_claimed(account):
    order = _buy(account)
    OrderJob.objects.filter(order=order).update(run_after=timezone.now() + timedelta(minutes=1))

    assert job_claim_next(worker_id="w1") is None


def test_a_job_waits_for_the_earlier_unfinished_job_of_its_order(account):
    order = _buy(account)
    cancel = OrderJob.objects.create(order=order, kind=JobKind.CANCEL)

    submit = job_claim_next(worker_id="w1")
    assert submit is not None
    assert submit.kind == JobKind.SUBMIT
    # The cancel is due, but its order's submit is still running.
    assert job_claim_next(worker_id="w2") is None

    assert job_complete(submit, worker_id="w1")
    claimed = job_claim_next(worker_id="w2")
    assert claimed is not None
    assert claimed.pk == cancel.pk


def test_a_running_job_is_not_claimed_while_its_lease_lasts(account):
    _buy(account)
    assert job_claim_next(worker_id="w1") is not None

    assert job_claim_next(worker_id="w2") is None


def test_an_expired_lease_is_reclaimed_and_the_first_worker_loses_it(account, caplog):
    _buy(account)
    job = job_claim_next(worker_id="w1")
    assert job is not None
    _expire_lease(job)

    with caplog.at_level(logging.WARNING, logger="trading.work_queue"):
        again = job_claim_next(worker_id="w2")

    assert again is not None
    assert again.pk == job.pk
    assert again.status == JobStatus.RUNNING
    assert again.attempts == 2
    assert again.locked_by == "w2"
    assert again.lease_token not in (None, job.lease_token)
    # The holder before the claim, which the claim's own update overwrote.
    assert f"job {job.pk}: lease of w1 expired; reclaimed" in caplog.text
    # The first worker comes back from a long pause: every release it tries is refused.
    assert job_complete(job, worker_id="w1") is False
    assert job_retry(job, worker_id="w1", error="late") is False
    assert job_fail(job, error="late", worker_id="w1") is False
    again.refresh_from_db()
    assert (again.status, again.locked_by) == (JobStatus.RUNNING, "w2")
    assert job_complete(again, worker_id="w2") is True
    again.refresh_from_db()
    assert again.status == JobStatus.DONE
    assert again.locked_until is None
    assert again.locked_by == "w2"
    assert again.finished_at is not None


def test_a_lease_that_expired_too_often_fails_the_job(account):
    _buy(account)
    job = job_claim_next(worker_id="w1")
    assert job is not None
    OrderJob.objects.filter(pk=job.pk).update(attempts=3)
    _expire_lease(job)

    assert job_claim_next(worker_id="w2") is None

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.last_error == "lease expired too many times"
    assert (job.attempts, job.locked_by, job.locked_until) == (3, "w1", None)
    assert job.finished_at is not None


def test_a_job_out_of_attempts_keeps_its_last_error_and_frees_its_order(account, caplog):
    order = _buy(account)
    job = job_claim_next(worker_id="w1")
    assert job is not None
    OrderJob.objects.filter(pk=job.pk).update(attempts=3, last_error="503 Service Unavailable")
    _expire_lease(job)
    cancel = OrderJob.objects.create(order=order, kind=JobKind.CANCEL)

    with caplog.at_level(logging.ERROR, logger="trading.work_queue"):
        assert job_claim_next(worker_id="w2") is None

    job.refresh_from_db()
    assert (job.status, job.last_error) == (JobStatus.FAILED, "503 Service Unavailable")
    assert "failed: 503 Service Unavailable" in caplog.text
    # The failed job no longer holds back the order's next one.
    following = job_claim_next(worker_id="w2")
    assert following is not None
    assert (following.pk, following.attempts, following.locked_by) == (cancel.pk, 1, "w2")


def test_a_claim_is_one_statement_and_reads_back_as_the_row_stored(account):
    _buy(account)

    with CaptureQueriesContext(connection) as queries:
        job = job_claim_next(worker_id="w1")

    assert job is not None
    assert len(queries.captured_queries) == 1
    stored = OrderJob.objects.get(pk=job.pk)
    fields = ["status", "attempts", "locked_by", "locked_until", "lease_token", "run_after"]
    assert [getattr(job, name) for name in fields] == [getattr(stored, name) for name in fields]
    assert job.locked_until is not None
    assert job.locked_until.tzinfo is not None
    assert job_complete(job, worker_id="w1") is True


@pytest.mark.parametrize("attempts", range(0, 11))
def test_retry_delay_is_full_jitter_within_the_capped_exponential(settings, attempts):
    settings.ORDER_JOB_MAX_BACKOFF_SECONDS = 60.0
    ceiling = min(60.0, 2.0**attempts)

    delays = [retry_delay_seconds(attempts) for _ in range(300)]

    assert all(0 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1  # jittered, not a fixed schedule
    assert max(delays) > ceiling / 2  # and spread over the whole window


def test_retry_queues_the_job_again_after_a_bounded_backoff(account):
    _buy(account)
    job = job_claim_next(worker_id="w1")
    assert job is not None
    before = timezone.now()

    assert job_retry(job, worker_id="w1", error="timeout") is True

    job.refresh_from_db()
    after = timezone.now()
    assert job.status == JobStatus.QUEUED
    assert job.locked_until is None
    assert job.last_error == "timeout"
    assert before <= job.run_after <= after + timedelta(seconds=2.0**job.attempts)


def test_broker_unavailable_is_retried_then_failed_after_max_attempts(
    account, work_queue, settings, broker_down
):
    settings.ORDER_JOB_MAX_BACKOFF_SECONDS = 0.0  # retry at once, so one drain does it all
    order = _buy(account)

    assert work_queue() == 3

    job = OrderJob.objects.get(order=order)
    assert job.status == JobStatus.FAILED
    assert job.attempts == 3
    assert job.last_error == "503 Service Unavailable"
    assert job.finished_at is not None
    assert job.locked_until is None
    assert not SimulatedOrder.objects.exists()
    order.refresh_from_db()
    assert order.status not in {OrderStatus.FILLED, OrderStatus.REJECTED}


def test_broker_unavailable_backs_off_before_the_next_attempt(
    account, work_queue, monkeypatch, broker_down
):
    monkeypatch.setattr("trading.work_queue.retry_delay_seconds", lambda attempts: 5.0)
    order = _buy(account)
    before = timezone.now()

    assert work_queue() == 1  # the retry is not due yet: the drain stops there

    job = OrderJob.objects.get(order=order)
    assert job.status == JobStatus.QUEUED
    assert job.attempts == 1
    assert job.last_error == "503 Service Unavailable"
    assert before + timedelta(seconds=5) <= job.run_after <= timezone.now() + timedelta(seconds=5)


def test_broker_rejection_ends_the_order_rejected_with_the_reason(account, work_queue):
    order = _buy(account)
    # The venue stops trading the symbol between our validation and the worker's call.
    Instrument.objects.filter(symbol="AAPL").update(tradable=False)

    assert work_queue() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == "asset AAPL is not tradable"
    assert order.failed_at is not None
    job = OrderJob.objects.get(order=order)
    assert job.status == JobStatus.DONE
    assert job.attempts == 1
    assert not SimulatedOrder.objects.exists()
    account.refresh_from_db()
    assert account.buying_power == account.cash  # nothing stays reserved


def test_requeue_gives_failed_jobs_fresh_attempts(
    account, work_queue, settings, monkeypatch, broker_down
):
    settings.ORDER_JOB_MAX_BACKOFF_SECONDS = 0.0
    failed_order = _buy(account)
    assert work_queue() == 3
    monkeypatch.undo()  # the broker is back
    done_order = _buy(account, qty="1")
    assert work_queue() == 1
    failed = OrderJob.objects.get(order=failed_order)
    done = OrderJob.objects.get(order=done_order)

    assert jobs_requeue([failed.pk, done.pk]) == 1  # only failed jobs are requeued

    failed.refresh_from_db()
    assert failed.status == JobStatus.QUEUED
    assert failed.attempts == 0
    assert failed.finished_at is None
    done.refresh_from_db()
    assert done.status == JobStatus.DONE
    assert work_queue() == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (JobStatus.DONE, 1)
    failed_order.refresh_from_db()
    assert failed_order.status == OrderStatus.FILLED
    assert Position.objects.get(account=account, symbol="AAPL").qty == Decimal("6")


def test_a_requeued_submit_the_venue_already_took_is_not_placed_twice(
    account, settings, monkeypatch, work_queue
):
    settings.ORDER_JOB_MAX_ATTEMPTS = 1
    lost: list[TradeUpdate] = []

    def gateway(account):
        # The venue takes the order; its answer and its `new` event are lost in transit.
        return SimulatedGateway(
            account.pk,
            lambda account_id, update: lost.append(update),
            max_fill_qty=Decimal("1000"),
            latency_seconds=30.0,
            answer_timeout_seconds=0.0,
        )

    monkeypatch.setattr("trading.worker.gateway_for_account", gateway)
    set_price("AAPL", "200.00")
    order = order_submit(
        account=account,
        symbol="AAPL",
        side="buy",
        qty=Decimal("5"),
        type="limit",
        limit_price=Decimal("150.00"),
    )
    assert work_queue() == 1
    job = OrderJob.objects.get(order=order)
    assert job.status == JobStatus.FAILED  # out of attempts, though the venue has it
    monkeypatch.undo()
    assert [update.event for update in lost] == ["new"]

    assert jobs_requeue([job.pk]) == 1
    assert work_queue() == 1  # its first attempt again: submitted without a lookup

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)
    venue_order = SimulatedOrder.objects.get(client_order_id=order.client_order_id)
    order.refresh_from_db()
    # The venue refused the duplicate and answered with its order: the same one, resting.
    assert order.status == OrderStatus.NEW
    assert order.broker_order_id == str(venue_order.broker_order_id)
