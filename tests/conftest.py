"""Shared fixtures: users, simulated accounts, API clients and a synchronous order worker."""

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
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
