"""pytest fixtures around the fake Alpaca. Import them by their function names:

    from tests.fake_alpaca.fixtures import alpaca_account_fixture, fake_alpaca_fixture  # noqa: F401

and take `fake_alpaca` / `alpaca_account` as arguments.
"""

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.factories import make_account, set_price
from tests.fake_alpaca.server import FakeAlpaca
from trading.broker.alpaca import host as host_module
from trading.broker.alpaca import stream as stream_module
from trading.broker.alpaca.host import run_broker_streams
from trading.models import BrokerAccount
from trading.services.credentials import broker_link

KEY_ID = "PKTESTKEY0001"
SECRET_KEY = "test-secret-0001"
PRICES = {"AAPL": "200.00", "MSFT": "400.00", "NVDA": "100.00"}


@pytest.fixture(name="fake_alpaca")
def fake_alpaca_fixture(settings: Any) -> Iterator[FakeAlpaca]:
    """A started fake with AAPL, MSFT and NVDA quoted; the settings point at it."""
    fake = FakeAlpaca().start()
    for symbol, price in PRICES.items():
        fake.set_price(symbol, price)
    settings.ALPACA_TRADING_URL = fake.rest_url
    settings.ALPACA_STREAM_URL = fake.stream_url
    settings.ALPACA_DATA_URL = fake.data_url
    try:
        yield fake
    finally:
        fake.stop()


def link_alpaca_account(
    fake: FakeAlpaca,
    username: str = "alpaca-trader",
    *,
    key_id: str = KEY_ID,
    secret_key: str = SECRET_KEY,
    cash: str = "100000",
    auto_fill: bool = True,
) -> BrokerAccount:
    """A user whose account is linked to a fresh fake Alpaca account with the same cash."""
    fake.add_account(key_id, secret_key, cash=cash, auto_fill=auto_fill)
    for symbol, price in PRICES.items():
        set_price(symbol, price)
    account = make_account(username, cash=cash)
    broker_link(
        user=account.user, provider="alpaca", key_id=key_id, secret_key=secret_key, live=False
    )
    return BrokerAccount.objects.select_related("user").get(pk=account.pk)


@pytest.fixture(name="alpaca_account")
def alpaca_account_fixture(db: None, fake_alpaca: FakeAlpaca) -> BrokerAccount:
    return link_alpaca_account(fake_alpaca)


def wait_until(predicate: Callable[[], object], *, timeout: float = 5.0, what: str) -> None:
    """Poll `predicate` (it may query the database) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s")
        time.sleep(0.02)


class HostRunner:
    """The broker-stream host on its own thread and loop, as `serve` runs it."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, *, trade_streams: bool = True, market_data: bool = True) -> "HostRunner":
        self._thread = threading.Thread(
            target=run_broker_streams,
            kwargs={
                "stop": self._stop,
                "trade_streams": trade_streams,
                "market_data": market_data,
            },
            name="test-broker-streams",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> float:
        """Stop the host; returns how long that took."""
        started = time.monotonic()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=20)
            assert not self._thread.is_alive(), "the broker-stream host did not stop"
        return time.monotonic() - started


@pytest.fixture(name="broker_host")
def broker_host_fixture(fake_alpaca: FakeAlpaca, monkeypatch: Any) -> Iterator[HostRunner]:
    """A host with short timers; call `.start()` once the accounts are linked."""
    monkeypatch.setattr(host_module, "ACCOUNTS_POLL_SECONDS", 0.1)
    monkeypatch.setattr(stream_module, "SETTLE_DELAY_SECONDS", 0.05)
    runner = HostRunner()
    try:
        yield runner
    finally:
        runner.stop()
