"""The order worker: carries queued submits and cancels to the account's broker."""

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import DatabaseError, connections

from trading.broker.gateway import BrokerGateway
from trading.broker.types import (
    BrokerAuthError,
    BrokerNotCancelable,
    BrokerRejected,
    BrokerUnavailable,
    OrderRequest,
)
from trading.enums import TERMINAL_ORDER_STATUSES, JobKind, OrderStatus
from trading.metrics import ORDER_JOBS
from trading.models import Order, OrderJob
from trading.services.common import connections_recycle
from trading.services.fills import booked_order_pop
from trading.services.gateways import gateway_for_account
from trading.services.orders import (
    order_apply_broker_state,
    order_cancel_locally,
    order_knows_broker_state,
    order_reject,
)
from trading.services.row_reads import row_get
from trading.work_queue import (
    LeaseLost,
    job_claim_next,
    job_complete,
    job_fail,
    job_lease_extend,
    job_retry,
)
from trading.worker_wakeup import JobWakeup

logger = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _first_attempt(job: OrderJob, order: Order) -> bool:
    """A submit's first claim, its order not canceled meanwhile: it skips the lookup.

    No earlier run of the job exists (each order gets one submit job, `order_submit`),
    except after an operator's requeue of a failed job, which starts its attempts again
    though an earlier run may have placed the order: then the broker refuses the
    duplicate client_order_id and the gateway answers with the order it holds
    (`BrokerGateway.submit_order`), what the lookup would have found.
    """
    return job.attempts == 1 and order.status == OrderStatus.PENDING_NEW


def _submit(job: OrderJob, order: Order, gateway: BrokerGateway) -> None:
    """processOrderSubmit: a re-run reconciles first; no run places the order twice."""
    if order.status in TERMINAL_ORDER_STATUSES or order.broker_order_id:
        return
    # Extended before every broker call: one call may take ~20 s (two, chained, on a
    # duplicate client_order_id), so a submit could outlive a lease taken only once.
    job_lease_extend(job)
    # A re-run asks first: a lookup is cheaper than a refused submit and its lookup.
    known = (
        None
        if _first_attempt(job, order)
        else gateway.get_order_by_client_id(order.client_order_id)
    )
    if known is None:
        if order.status == OrderStatus.PENDING_CANCEL:
            # Canceled while this submit waited for a retry: never place it now. The
            # cancel job behind this one finds no order at the broker and ends it here.
            return
        request = OrderRequest(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            time_in_force=order.time_in_force,
            qty=order.qty,
            limit_price=order.limit_price,
            buying_power_hold=order.buying_power_hold,
        )
        job_lease_extend(job)
        try:
            known = gateway.submit_order(request)
        except BrokerRejected as rejection:
            order_reject(order_id=order.pk, reason=str(rejection), lease=job)
            return
        # The simulated venue books its answer's `new` (and fills) before answering: when
        # that booking committed with the answer already known, there is nothing to write
        # and no need to read the order again. Its id never changes once set and statuses
        # only move forward, so what the booking knew, the order still knows.
        booked = booked_order_pop(order.pk)
        if booked is not None and order_knows_broker_state(booked, known):
            return
    order_apply_broker_state(order_id=order.pk, broker_order=known, lease=job)


def _cancel(job: OrderJob, order: Order, gateway: BrokerGateway) -> None:
    """processOrderCancel: the broker's answer arrives as a `canceled` trade update."""
    if order.status in TERMINAL_ORDER_STATUSES:
        return
    job_lease_extend(job)
    known = gateway.get_order_by_client_id(order.client_order_id)
    if known is None:
        # The broker never had it (its submit job always runs first): cancel it here.
        order_cancel_locally(order_id=order.pk, lease=job)
        return
    order_apply_broker_state(order_id=order.pk, broker_order=known, lease=job)
    try:
        gateway.cancel_order(known.broker_order_id)
    except BrokerNotCancelable:
        # It filled (or ended) first; that outcome reaches us as its own trade update.
        logger.info("order %s was no longer cancelable at the broker", order.pk)


def job_execute(job: OrderJob) -> None:
    """Run one claimed job against the broker; raises broker errors and LeaseLost."""
    order = row_get(Order, related=("account",), pk=job.order_id)
    gateway = gateway_for_account(order.account)
    if job.kind == JobKind.SUBMIT:
        _submit(job, order, gateway)
    else:
        _cancel(job, order, gateway)


def job_run(job: OrderJob, *, worker_id: str) -> None:
    """Execute a job and record its outcome: done, retried later, or failed."""
    ORDER_JOBS.labels(kind=job.kind, outcome=_job_run(job, worker_id=worker_id)).inc()


def _job_run(job: OrderJob, *, worker_id: str) -> str:
    try:
        job_execute(job)
    except LeaseLost as lost:
        # Paused past the lease (GC, a slow broker): another claim owns the job and will
        # reconcile with the broker. Whatever this run learned is dropped, not applied.
        logger.warning("%s; %s applied nothing", lost, worker_id)
        return "lease_lost"
    except BrokerUnavailable as error:
        logger.warning("job %s: broker unavailable (%s); will retry", job.pk, error)
        job_retry(job, worker_id=worker_id, error=str(error))
        return "retry"
    except BrokerAuthError as error:
        if job.kind == JobKind.SUBMIT:
            try:
                order_reject(
                    order_id=job.order_id,
                    reason=f"Broker refused the credentials: {error}",
                    lease=job,
                )
            except LeaseLost as lost:
                logger.warning("%s; %s applied nothing", lost, worker_id)
                return "lease_lost"
        job_fail(job, error=str(error), worker_id=worker_id)
        return "failed"
    except Exception as error:
        logger.exception("job %s crashed; will retry", job.pk)
        job_retry(job, worker_id=worker_id, error=f"{type(error).__name__}: {error}")
        return "retry"
    job_complete(job, worker_id=worker_id)
    return "done"


# The longest pause between attempts while the database is down.
MAX_DATABASE_BACKOFF_SECONDS = 5.0


def run_worker(
    *,
    stop: threading.Event,
    wake: threading.Event | None = None,
    worker_id: str | None = None,
    poll_interval_seconds: float = 0.5,
    burst: bool = False,
    threads: int | None = None,
) -> int:
    """Work jobs until `stop` is set (or, in burst mode, the queue is empty); returns the count.

    With `threads` (default ORDER_WORKER_THREADS) above one, on PostgreSQL, that many loops
    work the queue side by side, each with its own connections: a job mostly waits on
    database round trips there, and SKIP LOCKED keeps the loops off each other's jobs.
    On SQLite one loop runs whatever is asked: every job's writes queue for one lock.
    """
    count = settings.ORDER_WORKER_THREADS if threads is None else threads
    if count <= 1 or connections["default"].vendor != "postgresql":
        return _run_loop(stop, wake or threading.Event(), worker_id, poll_interval_seconds, burst)
    wake = wake or threading.Event()
    base_id = worker_id or default_worker_id()
    results: list[int] = []

    def loop(index: int) -> None:
        # Each loop waits on its own event: a shared one is cleared by whichever wakes first.
        own_wake = threading.Event()
        relay.append(own_wake)
        try:
            results.append(
                _run_loop(stop, own_wake, f"{base_id}/{index}", poll_interval_seconds, burst)
            )
        finally:
            connections.close_all()

    relay: list[threading.Event] = []
    workers = [
        threading.Thread(target=loop, args=(index,), name=f"order-worker-{index}", daemon=True)
        for index in range(count)
    ]
    for worker in workers:
        worker.start()
    # The caller's `wake` (serve's commit signal, a stop) reaches every loop.
    while any(worker.is_alive() for worker in workers):
        if wake.wait(0.5):
            wake.clear()
            for own_wake in relay:
                own_wake.set()
        if stop.is_set():
            for own_wake in relay:
                own_wake.set()
            for worker in workers:
                worker.join(timeout=0.5)
    return sum(results)


def _run_loop(
    stop: threading.Event,
    wake: threading.Event,
    worker_id: str | None,
    poll_interval_seconds: float,
    burst: bool,
) -> int:
    """One worker loop: claim, run, and when the queue is empty wait for a job or the poll."""
    worker_id = worker_id or default_worker_id()
    wakeup = JobWakeup(wake)
    processed = 0
    logger.info("order worker %s started", worker_id)
    failures = 0
    try:
        while not stop.is_set():
            try:
                job = job_claim_next(worker_id=worker_id)
                if job is not None:
                    job_run(job, worker_id=worker_id)
            except DatabaseError as error:
                # The database went away (a restart, a failover): the loop must outlive it.
                # A job claimed before the error is taken over when its lease runs out.
                failures += 1
                delay = min(poll_interval_seconds * 2**failures, MAX_DATABASE_BACKOFF_SECONDS)
                logger.warning("order worker %s: database unavailable (%s); retrying in %.1fs",
                               worker_id, error, delay)  # fmt: skip
                connections.close_all()
                stop.wait(delay)
                continue
            failures = 0
            if job is None:
                if burst:
                    break
                # Recycled only before idling: with CONN_MAX_AGE 0 every recycle closes the
                # connection, and reopening it (SQLite: open, pragmas, functions) per job
                # cost ~5 % of a busy worker. A broken one fails the next claim, handled above.
                connections_recycle()
                wakeup.wait(poll_interval_seconds)
                continue
            processed += 1
    finally:
        wakeup.close()
    logger.info("order worker %s stopped after %d jobs", worker_id, processed)
    return processed
