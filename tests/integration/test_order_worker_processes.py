"""The order queue against real `run_order_worker` processes sharing the test database.

A worker SIGKILLed mid-job leaves its job RUNNING under a lease; once the lease passes,
another worker reclaims it and reconciles with the broker by client_order_id, so the
broker still holds exactly one order. Two workers started together split the queue
without ever working one job twice (SKIP LOCKED on PostgreSQL, the guarded claim on SQLite).
"""

import os
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from tests.factories import make_account
from tests.processes import Processes, child_env, wait_for
from trading.enums import JobStatus, OrderStatus
from trading.models import BrokerAccount, Instrument, Order, OrderJob, Position, SimulatedOrder
from trading.services.orders import order_submit

# Committed rows (transaction=True), or the children would not see them. serialized_rollback
# restores the migrations' seed rows before the test, and keeps the flush after it from
# re-creating content types under new ids (which would break the next test that restores).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LEASE_SECONDS = 2


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    yield group
    group.close()  # SIGKILLs whatever still runs, before the test database is flushed


def _instrument(symbol: str, price: str) -> None:
    # Not factories.set_price: this holds even if an earlier test's flush removed the seed.
    Instrument.objects.update_or_create(
        symbol=symbol,
        defaults={"tradable": True, "price": Decimal(price), "prev_close": Decimal(price)},
    )


def _broker_orders(order: Order) -> int:
    return SimulatedOrder.objects.filter(
        account_id=order.account_id, client_order_id=order.client_order_id
    ).count()


def _wait_out_lease(job: OrderJob) -> None:
    job.refresh_from_db()
    assert job.locked_until is not None
    remaining = (job.locked_until - timezone.now()).total_seconds()
    time.sleep(max(0.0, remaining) + 0.2)


def _processed(output: str) -> int:
    match = re.search(r"processed (\d+) jobs", output)
    assert match, output
    return int(match.group(1))


def _start_rescuer(processes: Processes) -> int:
    """Run a second worker in burst mode with an instant broker; returns its job count."""
    rescuer = processes.manage(
        "worker-b",
        "run_order_worker",
        "--burst",
        "--worker-id",
        "worker-b",
        env=child_env(SIMULATED_BROKER_LATENCY_SECONDS=0, ORDER_JOB_LEASE_SECONDS=LEASE_SECONDS),
    )
    assert rescuer.wait(timeout=60) == 0, processes.logs()
    return _processed(rescuer.output())


def _assert_filled_once(account: BrokerAccount, order: Order, job: OrderJob) -> None:
    assert _broker_orders(order) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 2
    assert job.locked_by == "worker-b"
    assert job.locked_until is None
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.filled_qty == Decimal("7")
    assert order.filled_avg_price == Decimal("200.00")
    assert order.broker_order_id
    position = Position.objects.get(account=account, symbol="AAPL")
    assert position.qty == Decimal("7")
    account.refresh_from_db()
    assert account.cash == Decimal("98600.00")


def test_worker_killed_after_the_broker_took_the_order(processes):
    _instrument("AAPL", "200.00")
    account = make_account("killed-late")
    order = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("7"), type="market"
    )
    job = OrderJob.objects.get(order=order)

    # The broker commits the order, then "answers" 30 s later: we kill it in between.
    doomed = processes.manage(
        "worker-a",
        "run_order_worker",
        "--worker-id",
        "worker-a",
        "--poll-interval",
        "0.1",
        env=child_env(SIMULATED_BROKER_LATENCY_SECONDS=30, ORDER_JOB_LEASE_SECONDS=LEASE_SECONDS),
    )

    def broker_has_it_and_job_running() -> bool:
        job.refresh_from_db()
        return job.status == JobStatus.RUNNING and _broker_orders(order) == 1

    wait_for(
        broker_has_it_and_job_running,
        timeout=30,
        what="the broker to hold the order while worker-a waits for its answer",
        processes=processes,
    )
    assert doomed.alive(), processes.logs()
    os.kill(doomed.pid, signal.SIGKILL)
    assert doomed.wait(timeout=10) == -signal.SIGKILL

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # a dead worker's lease, still standing
    assert job.attempts == 1
    assert job.locked_by == "worker-a"

    _wait_out_lease(job)
    assert _start_rescuer(processes) == 1
    _assert_filled_once(account, order, job)


def test_worker_killed_before_the_broker_got_the_order(processes, tmp_path):
    _instrument("AAPL", "200.00")
    account = make_account("killed-early")
    order = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("7"), type="market"
    )
    job = OrderJob.objects.get(order=order)

    # Deterministic: the launcher makes the broker call hang before it records anything.
    paused = tmp_path / "paused-before-submit"
    doomed = processes.manage_with_hooks(
        "worker-a",
        "run_order_worker",
        "--worker-id",
        "worker-a",
        "--poll-interval",
        "0.1",
        env=child_env(ORDER_JOB_LEASE_SECONDS=LEASE_SECONDS),
        pause_before_submit=paused,
    )
    wait_for(
        paused.exists,
        timeout=30,
        what="worker-a to reach the broker call",
        processes=processes,
    )
    assert paused.read_text() == order.client_order_id
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert _broker_orders(order) == 0
    os.kill(doomed.pid, signal.SIGKILL)
    assert doomed.wait(timeout=10) == -signal.SIGKILL

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_NEW
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.attempts == 1

    _wait_out_lease(job)
    assert _start_rescuer(processes) == 1
    _assert_filled_once(account, order, job)


def test_two_workers_split_the_queue_without_doing_a_job_twice(processes, tmp_path):
    prices = {"AAPL": "200.00", "MSFT": "400.00", "NVDA": "100.00"}
    for symbol, price in prices.items():
        _instrument(symbol, price)
    accounts = [make_account(f"racer{n}") for n in range(3)]
    orders = [
        order_submit(
            account=accounts[n % 3],
            symbol=list(prices)[n % len(prices)],
            side="buy",
            qty=Decimal(1 + n % 4),
            type="market",
        )
        for n in range(30)
    ]

    # Both workers set up Django first, then start claiming at the same moment.
    go = tmp_path / "go"
    names = ["race-a", "race-b"]
    workers = [
        processes.manage_with_hooks(
            name,
            "run_order_worker",
            "--burst",
            "--worker-id",
            name,
            env=child_env(SIMULATED_BROKER_LATENCY_SECONDS=0.05),
            ready_file=tmp_path / f"{name}.ready",
            go_file=go,
        )
        for name in names
    ]
    wait_for(
        lambda: all((tmp_path / f"{name}.ready").exists() for name in names),
        timeout=30,
        what="both workers to start",
        processes=processes,
    )
    go.touch()
    for worker in workers:
        assert worker.wait(timeout=120) == 0, processes.logs()

    jobs = list(OrderJob.objects.filter(order__in=orders))
    assert len(jobs) == 30
    assert {(job.status, job.attempts) for job in jobs} == {(JobStatus.DONE, 1)}, processes.logs()

    per_client_id = dict(
        SimulatedOrder.objects.values_list("client_order_id").annotate(n=Count("pk"))
    )
    assert per_client_id == {order.client_order_id: 1 for order in orders}

    statuses = Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
    assert set(statuses) == {OrderStatus.FILLED}

    # Both took part; a worker clears locked_until on release but keeps its name.
    by_worker = Counter(job.locked_by for job in jobs)
    assert set(by_worker) == set(names), by_worker
    assert sum(_processed(worker.output()) for worker in workers) == 30
    assert {name: _processed(w.output()) for name, w in zip(names, workers, strict=True)} == dict(
        by_worker
    )

    for account in accounts:
        bought = dict(
            Order.objects.filter(account=account).values_list("symbol").annotate(total=Sum("qty"))
        )
        held = dict(Position.objects.filter(account=account).values_list("symbol", "qty"))
        assert held == bought


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite polls"
)
def test_an_idle_worker_is_woken_by_notify_not_its_poll(processes):
    _instrument("AAPL", "200.00")
    account = make_account("notified")
    # A poll this long would leave the second order queued for the whole test.
    processes.manage(
        "listener",
        "run_order_worker",
        "--poll-interval",
        "60",
        env=child_env(SIMULATED_BROKER_LATENCY_SECONDS=0),
    )

    def filled(order: Order) -> bool:
        order.refresh_from_db()
        return order.status == OrderStatus.FILLED

    first = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market"
    )
    wait_for(lambda: filled(first), timeout=30, what="the worker's first job", processes=processes)
    time.sleep(0.5)  # idle now, blocked on its LISTEN connection

    second = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market"
    )
    started = time.monotonic()
    wait_for(lambda: filled(second), timeout=10, what="the NOTIFY to wake it", processes=processes)
    assert time.monotonic() - started < 5
