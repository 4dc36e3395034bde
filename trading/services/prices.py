"""Price services: mark positions to market and roll the trading day."""

from datetime import date, datetime, time
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from trading import signals
from trading.enums import BrokerProvider, StreamChannel
from trading.models import BrokerAccount, Instrument, Position
from trading.money import ZERO
from trading.services.accounts import MARKET_TIMEZONE, account_refresh
from trading.services.common import CAUSE_DAY_ROLL, CAUSE_PRICE, account_lock, emit
from trading.services.positions import position_mark


def instrument_price_set(*, symbol: str, price: Decimal, at: datetime) -> None:
    """Record the latest trade price of an instrument."""
    Instrument.objects.filter(symbol=symbol).update(price=price, price_updated_at=at)


def price_apply(
    *,
    symbol: str,
    price: Decimal,
    at: datetime,
    provider: str = BrokerProvider.SIMULATED,
) -> int:
    """Mark every `provider` position in `symbol` to `price`; returns the accounts touched."""
    instrument_price_set(symbol=symbol, price=price, at=at)
    prev_close = (
        Instrument.objects.filter(symbol=symbol).values_list("prev_close", flat=True).first()
    )
    account_ids = list(
        Position.objects.filter(symbol=symbol, account__provider=provider)
        .exclude(current_price=price)
        .values_list("account_id", flat=True)
    )
    for account_id in account_ids:
        # One short transaction per account keeps lock times small under many holders.
        with transaction.atomic():
            account = account_lock(account_id)
            position = Position.objects.filter(account=account, symbol=symbol).first()
            if position is None or position.current_price == price:
                continue
            position_mark(position, price, prev_close)
            position.save()
            emit(
                account,
                StreamChannel.POSITIONS,
                signals.position_changed,
                position=position,
                cause=CAUSE_PRICE,
            )
            account_refresh(account, cause=CAUSE_PRICE)
    return len(account_ids)


def trading_day_roll(*, today: date) -> int:
    """At a new session: yesterday's last prices become closes and equity the day's baseline.

    Safe to repeat within a session (a restarted market loop calls it again): a price
    already traded today is not a close.
    """
    session_start = datetime.combine(today, time.min, tzinfo=MARKET_TIMEZONE)
    Instrument.objects.exclude(price__isnull=True).exclude(
        price_updated_at__gte=session_start
    ).update(prev_close=F("price"))
    rolled = 0
    for account_id in BrokerAccount.objects.exclude(trading_day=today).values_list("pk", flat=True):
        with transaction.atomic():
            account = account_lock(account_id)
            for position in Position.objects.filter(account=account):
                position.lastday_price = position.current_price
                position_mark(position, position.current_price, position.current_price)
                position.save()
                emit(
                    account,
                    StreamChannel.POSITIONS,
                    signals.position_changed,
                    position=position,
                    cause=CAUSE_DAY_ROLL,
                )
            account.last_equity = account.equity
            account.realized_pl_today = ZERO
            account.trading_day = today
            account.save(
                update_fields=["last_equity", "realized_pl_today", "trading_day", "updated_at"]
            )
            emit(
                account,
                StreamChannel.ACCOUNT,
                signals.account_changed,
                account=account,
                cause=CAUSE_DAY_ROLL,
            )
            rolled += 1
    return rolled
