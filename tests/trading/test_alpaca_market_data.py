"""The deployment's market-data stream: held symbols, the feed's limit, trades into P&L."""

import time
from decimal import Decimal

import pytest
from django.db import transaction

from tests.factories import make_account
from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    SECRET_KEY,
    broker_host_fixture,
    fake_alpaca_fixture,
    link_alpaca_account,
    wait_until,
)
from trading.broker.alpaca import market_data
from trading.domain import Holding
from trading.models import Instrument, Position
from trading.services import prices
from trading.services.common import account_lock
from trading.services.gateways import gateway_for_account
from trading.services.position_sync import positions_sync
from trading.services.positions import position_write

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def data_settings(settings, monkeypatch):
    settings.ALPACA_DATA_API_KEY = KEY_ID
    settings.ALPACA_DATA_SECRET_KEY = SECRET_KEY
    settings.ALPACA_DATA_FEED = "iex"
    monkeypatch.setattr(market_data, "HOLDINGS_POLL_SECONDS", 0.1)
    monkeypatch.setattr(market_data, "FLUSH_INTERVAL_SECONDS", 0.05)


def hold(fake, account, key_id, symbol, qty, avg="200"):
    """Give the account a position at Alpaca and let position sync mirror it."""
    positions = fake.account(key_id).positions
    if Decimal(qty):
        positions[symbol] = (Decimal(qty), Decimal(avg))
    else:
        positions.pop(symbol, None)
    positions_sync(account=account, gateway=gateway_for_account(account))


def subscribed(fake, symbols):
    wait_until(lambda: fake.subscribed_trades() == set(symbols), what=f"subscription to {symbols}")


def test_subscribes_to_what_alpaca_accounts_hold_and_follows_changes(fake_alpaca, broker_host):
    account = link_alpaca_account(fake_alpaca)
    hold(fake_alpaca, account, KEY_ID, "AAPL", "10")
    hold(fake_alpaca, account, KEY_ID, "MSFT", "3")
    simulated = make_account("sim-trader")
    with transaction.atomic():
        position_write(
            account_lock(simulated.pk),
            "NVDA",
            Holding(Decimal("5"), Decimal("100"), Decimal("100")),
            Decimal("100"),
        )
    broker_host.start(trade_streams=False)

    subscribed(fake_alpaca, {"AAPL", "MSFT"})  # not NVDA: only a simulated account holds it

    hold(fake_alpaca, account, KEY_ID, "NVDA", "1", avg="100")
    subscribed(fake_alpaca, {"AAPL", "MSFT", "NVDA"})
    hold(fake_alpaca, account, KEY_ID, "MSFT", "0")
    subscribed(fake_alpaca, {"AAPL", "NVDA"})
    assert fake_alpaca.streams.data_connects == 1  # one socket, re-subscribed in place


def test_the_most_held_symbols_fit_in_the_feed_limit(fake_alpaca, broker_host, monkeypatch):
    monkeypatch.setitem(market_data.SYMBOL_LIMITS, "iex", 2)
    first = link_alpaca_account(fake_alpaca)
    second = link_alpaca_account(fake_alpaca, "second", key_id="PKSECOND", secret_key="s2")
    for symbol in ("AAPL", "MSFT", "NVDA"):
        hold(fake_alpaca, first, KEY_ID, symbol, "1")
    for symbol in ("MSFT", "NVDA"):
        hold(fake_alpaca, second, "PKSECOND", symbol, "1")
    broker_host.start(trade_streams=False)

    subscribed(fake_alpaca, {"MSFT", "NVDA"})


def test_a_trade_moves_the_position_and_its_pl(fake_alpaca, broker_host):
    account = link_alpaca_account(fake_alpaca)
    hold(fake_alpaca, account, KEY_ID, "AAPL", "10", avg="200")
    broker_host.start(trade_streams=False)
    subscribed(fake_alpaca, {"AAPL"})

    assert fake_alpaca.publish_trade("AAPL", "210.55") == 1

    wait_until(
        lambda: (
            Position.objects.get(account=account, symbol="AAPL").current_price == Decimal("210.55")
        ),
        what="position marked at the trade",
    )
    position = Position.objects.get(account=account, symbol="AAPL")
    assert position.market_value == Decimal("2105.50")
    assert position.unrealized_pl == Decimal("105.50")
    assert Instrument.objects.get(symbol="AAPL").price == Decimal("210.55")


def test_a_burst_of_trades_is_coalesced_to_the_latest_price(fake_alpaca, broker_host, monkeypatch):
    monkeypatch.setattr(market_data, "FLUSH_INTERVAL_SECONDS", 0.3)
    applied: list[Decimal] = []
    real_prices_apply = prices.prices_apply

    def counting_prices_apply(**kwargs):
        applied.append(kwargs["prices"]["AAPL"][0])
        return real_prices_apply(**kwargs)

    monkeypatch.setattr(market_data, "prices_apply", counting_prices_apply)
    account = link_alpaca_account(fake_alpaca)
    hold(fake_alpaca, account, KEY_ID, "AAPL", "10")
    broker_host.start(trade_streams=False)
    subscribed(fake_alpaca, {"AAPL"})

    for cents in range(40):
        fake_alpaca.publish_trade("AAPL", f"201.{cents:02d}")

    wait_until(
        lambda: (
            Position.objects.get(account=account, symbol="AAPL").current_price == Decimal("201.39")
        ),
        what="the latest price on the position",
    )
    assert applied[-1] == Decimal("201.39")
    assert len(applied) <= 5, applied


def test_refused_data_keys_are_given_up_after_two_tries(fake_alpaca, broker_host, settings):
    settings.ALPACA_DATA_SECRET_KEY = "wrong"
    account = link_alpaca_account(fake_alpaca)
    hold(fake_alpaca, account, KEY_ID, "AAPL", "1")
    broker_host.start(trade_streams=False)

    wait_until(lambda: fake_alpaca.streams.data_auth_failures == 2, timeout=8, what="two refusals")
    time.sleep(1.5)
    assert fake_alpaca.streams.data_auth_failures == 2
