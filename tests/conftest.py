"""Shared fixtures: users, simulated accounts, API clients and a synchronous order worker."""

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import make_account
from trading.models import BrokerAccount
from trading.worker import run_worker


@pytest.fixture
def account(db: None) -> BrokerAccount:
    return make_account("trader")


@pytest.fixture
def other_account(db: None) -> BrokerAccount:
    return make_account("other", cash=Decimal("50000.00"))


@pytest.fixture
def api_client(account: BrokerAccount) -> APIClient:
    """A client logged in as the account's owner, enforcing CSRF like a browser."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(account.user)
    return client


@pytest.fixture
def work_queue() -> Callable[[], int]:
    """Run the real order worker until the queue is empty; returns the jobs worked."""

    def drain() -> int:
        return run_worker(stop=threading.Event(), burst=True, worker_id="test-worker")

    return drain


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test database; at its end, the sessions other threads left open on it
    are ended, so that its teardown can drop it.

    Threads of the test process (request threads, the order worker's and the stream's
    executors, the worker's LISTEN connection) keep their PostgreSQL connections until the
    process exits, and PostgreSQL refuses to drop a database in use: the test database was
    left behind with a warning.
    """
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a transactional test that would leave later ones a database they cannot load.

    A transactional test ends with a flush, and the flush's post_migrate recreates the
    content types under new ids. A later `serialized_rollback` test then re-inserts the
    migrated rows under their old ids and fails on the content types' unique key,
    depending only on the order the tests ran in.
    """
    for item in items:
        refusal = transactional_without_serialized_rollback(item)
        if refusal is not None:
            raise pytest.UsageError(f"{item.nodeid}: {refusal}")


# pytest-django's fixtures that make a test transactional (live_server requests
# transactional_db), and the one that adds serialized_rollback to them.
TRANSACTIONAL_FIXTURES = frozenset({"transactional_db", "live_server"})
SERIALIZED_ROLLBACK_FIXTURE = "django_db_serialized_rollback"


def transactional_without_serialized_rollback(item: Any) -> str | None:
    """Why `item` is a transactional test without serialized_rollback, or None."""
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    serialized = SERIALIZED_ROLLBACK_FIXTURE in fixtures
    if marker is not None:
        # django_db(transaction=False, reset_sequences=False, ..., serialized_rollback=False)
        transaction = marker.kwargs.get("transaction", marker.args[0] if marker.args else False)
        serialized = serialized or bool(marker.kwargs.get("serialized_rollback"))
        if transaction and not serialized:
            return "django_db(transaction=True) needs serialized_rollback=True"
    used = sorted(TRANSACTIONAL_FIXTURES & fixtures)
    if used and not serialized:
        return f"the {used[0]} fixture needs django_db(serialized_rollback=True)"
    return None
