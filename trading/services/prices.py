"""Price services: mark positions to market and roll the trading day."""

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from trading import signals
from trading.enums import BrokerProvider, StreamChannel
from trading.models import BrokerAccount, Instrument, Position
from trading.money import ZERO
from trading.services import price_marks
from trading.services.accounts import MARKET_TIMEZONE
from trading.services.common import CAUSE_DAY_ROLL, account_lock, emit
from trading.services.positions import position_mark
from trading.services.price_marks import accounts_mark, holder_ids, instrument_prices_set


def price_apply(
    *,
    symbol: str,
    price: Decimal,
    at: datetime,
    provider: str = BrokerProvider.SIMULATED,
) -> int:
    """Mark every `provider` position in `symbol` to `price`; returns the positions marked
    (one a holder). A nudge or a test: the market and the data stream call prices_apply."""
    return prices_apply(prices={symbol: (price, at)}, provider=provider)


def prices_apply(
    *,
    prices: Mapping[str, tuple[Decimal, datetime]],
    provider: str = BrokerProvider.SIMULATED,
) -> int:
    """Record the symbols' new prices (with their times) and mark every `provider` position
    in them; returns the positions marked.

    Each holder account is marked once however many of its symbols moved: its positions and
    open orders read once, its balances computed once, one positions seq and event per
    marked position and at most one account seq and event; batches of accounts, one
    transaction each, a fixed number of statements: see docs/architecture.md, "Price marks
    in bulk".
    """
    if not prices:
        return 0
    instrument_prices_set(prices)
    prev_closes = dict(
        Instrument.objects.filter(symbol__in=list(prices)).values_list("symbol", "prev_close")
    )
    latest = {symbol: price for symbol, (price, _) in prices.items()}
    account_ids = holder_ids(latest, provider)
    marked = 0
    with collector_paused():
        for start in range(0, len(account_ids), price_marks.MARK_BATCH_ACCOUNTS):
            batch = account_ids[start : start + price_marks.MARK_BATCH_ACCOUNTS]
            marked += accounts_mark(batch, latest, prev_closes)
    return marked


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, back on after (if it was on).

    A tick allocates ~100,000 short-lived containers (rows, positions, events), none in a
    cycle: reference counting frees them, and the collector's passes over them (a hundred
    young ones and a full one every other tick) were an eighth of a tick's CPU.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
