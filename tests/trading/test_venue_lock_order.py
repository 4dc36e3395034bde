"""Two symbols matched at once lock their holders' accounts in one order: no deadlock."""

import threading
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.factories import make_account, set_price
from tests.trading.order_api import submit_limit
from trading.broker.types import TradeUpdate
from trading.enums import OrderStatus
from trading.models import Order, SimulatedOrder
from trading.services.fills import trade_update_apply
from trading.services.venue_matching import venue_match

_ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.postgres
@pytest.mark.skipif(not _ON_POSTGRES, reason="row locks are PostgreSQL's; SQLite's writes queue")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_symbols_matched_at_once_fill_every_order_without_a_deadlock(
    monkeypatch, settings, work_queue
):
    settings.SIMULATED_BROKER_LATENCY_SECONDS = 0.0
    set_price("AAPL", "200.00")
    set_price("MSFT", "100.00")
    low, high = make_account("lock-order-low"), make_account("lock-order-high")
    assert low.pk < high.pk
    # Oldest first: AAPL's book holds the higher id's order first, MSFT's the lower id's.
    for account, symbol, limit in [
        (high, "AAPL", "150.00"),
        (low, "AAPL", "150.00"),
        (low, "MSFT", "50.00"),
        (high, "MSFT", "50.00"),
    ]:
        submit_limit(account, price=limit, symbol=symbol)
        work_queue()
    assert SimulatedOrder.objects.filter(status=OrderStatus.NEW).count() == 4

    real = trade_update_apply
    booked = {"AAPL": threading.Event(), "MSFT": threading.Event()}
    other = {"AAPL": "MSFT", "MSFT": "AAPL"}

    def book_then_wait_for_the_other(account_id: int, update: TradeUpdate) -> bool:
        applied = real(account_id, update)
        symbol = update.order.symbol
        if not booked[symbol].is_set():
            booked[symbol].set()
            # Let the other symbol book its first order too: booked oldest first, each
            # would then hold the account the other books next.
            booked[other[symbol]].wait(1.0)
        return applied

    monkeypatch.setattr(
        "trading.services.venue_matching.trade_update_apply", book_then_wait_for_the_other
    )
    failures: list[BaseException] = []

    def match(symbol: str, price: str) -> None:
        try:
            venue_match(symbol, Decimal(price))
        except BaseException as error:  # the assertion below reports it
            failures.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=match, args=("AAPL", "149.00")),
        threading.Thread(target=match, args=("MSFT", "49.00")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert Order.objects.filter(status=OrderStatus.FILLED).count() == 4
