"""Alpaca's JSON shapes of a position and of the account (numbers as decimal strings)."""

import uuid
from typing import Any

from tests.fake_alpaca.broker import FakeAccount, FakeBroker, cents, fmt


def position_json(broker: FakeBroker, account: FakeAccount, symbol: str) -> dict[str, Any]:
    qty, avg = account.positions[symbol]
    price = broker.prices.get(symbol, avg)
    market_value, cost_basis = cents(qty * price), cents(qty * avg)
    return {
        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
        "symbol": symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "asset_marginable": True,
        "qty": fmt(qty),
        "qty_available": fmt(qty),
        "avg_entry_price": fmt(avg),
        "side": "long" if qty > 0 else "short",
        "market_value": fmt(market_value),
        "cost_basis": fmt(cost_basis),
        "unrealized_pl": fmt(market_value - cost_basis),
        "unrealized_plpc": "0",
        "unrealized_intraday_pl": "0",
        "unrealized_intraday_plpc": "0",
        "current_price": fmt(price),
        "lastday_price": fmt(price),
        "change_today": "0",
    }


def account_json(broker: FakeBroker, account: FakeAccount) -> dict[str, Any]:
    equity = broker.equity(account)
    return {
        "id": account.id,
        "account_number": f"PA{account.id[:8].upper()}",
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "currency": "USD",
        "cash": fmt(account.cash),
        "buying_power": fmt(broker.buying_power(account)),
        "regt_buying_power": fmt(broker.buying_power(account)),
        "non_marginable_buying_power": fmt(broker.buying_power(account)),
        "portfolio_value": fmt(equity),
        "equity": fmt(equity),
        "last_equity": fmt(account.last_equity if account.last_equity is not None else equity),
        "long_market_value": fmt(broker.market_value(account, True)),
        "short_market_value": fmt(broker.market_value(account, False)),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": "1",
        "accrued_fees": "0",
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "shorting_enabled": True,
        "daytrade_count": 0,
        "created_at": "2024-01-02T15:00:00Z",
    }
