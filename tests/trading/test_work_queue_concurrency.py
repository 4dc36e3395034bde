"""The order work queue under concurrent claims on PostgreSQL: SKIP LOCKED, worker loops."""

import threading
import time
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.factories import make_account
from tests.trading.test_work_queue import _buy, _queue_settings  # noqa: F401 - autouse
from trading.enums import JobStatus, OrderStatus
from trading.models import Order, OrderJob, Position, SimulatedOrder, SimulatedPosition
from trading.work_queue import job_claim_next
from trading.worker import run_worker

_ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _postgres_only(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not _ON_POSTGRES, reason=reason)


@pytest.mark.postgres
@_postgres_only("SKIP LOCKED is PostgreSQL's; on SQLite the claim holds the write lock")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_row_locked_by_another_worker_is_skipped_not_waited_for():
    account = make_account("skip-locked")
    first, second = _buy(account), _buy(account)
    first_job = OrderJob.objects.get(order=first)
    config = connection.settings_dict
    # Another worker, mid-claim: it holds the row lock on the oldest job.
    with psycopg.connect(
        dbname=config["NAME"],
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        connect_timeout=5,
    ) as other:
        other.execute("SET lock_timeout = '5s'")
        locked = other.execute(
            "SELECT id FROM trading_orderjob WHERE id = %s FOR UPDATE", [first_job.pk]
        ).fetchone()
        assert locked == (first_job.pk,)

        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # a regression fails instead of hanging
        try:
            job = job_claim_next(worker_id="w2")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")

        assert time.monotonic() - started < 2  # did not wait for the lock
        assert job is not None
        assert job.order_id == second.pk
        other.rollback()

    again = job_claim_next(worker_id="w3")
    assert again is not None
    assert again.pk == first_job.pk


@pytest.mark.postgres
@_postgres_only("several loops per worker run on PostgreSQL only")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_threads_split_the_queue_without_doing_a_job_twice():
    accounts = [make_account(f"threads{n}") for n in range(4)]
    # Each account's first buy alone: two first executions of one account and symbol both
    # insert the venue position, and one of them is rolled back and retried (venue.py).
    for account in accounts:
        _buy(account, qty="1")
    assert run_worker(stop=threading.Event(), worker_id="first", burst=True, threads=1) == 4
    orders = [_buy(accounts[n % 4], qty="1") for n in range(24)]

    done = run_worker(stop=threading.Event(), worker_id="pool", burst=True, threads=3)

    jobs = list(OrderJob.objects.filter(order__in=orders))
    assert done == 24
    assert {(job.status, job.attempts) for job in jobs} == {(JobStatus.DONE, 1)}
    assert {job.locked_by for job in jobs} <= {"pool/0", "pool/1", "pool/2"}
    client_ids = [order.client_order_id for order in orders]
    assert SimulatedOrder.objects.filter(client_order_id__in=client_ids).count() == 24
    for account in accounts:
        assert Position.objects.get(account=account, symbol="AAPL").qty == Decimal("7")
        venue = SimulatedPosition.objects.get(account_id=account.pk, symbol="AAPL")
        assert venue.qty == Decimal("7")  # no booking's move undone by another's
        statuses = Order.objects.filter(account=account).values_list("status", flat=True)
        assert set(statuses) == {OrderStatus.FILLED}
