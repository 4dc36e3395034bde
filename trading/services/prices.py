"""Price services: mark positions to market and roll the trading day."""

from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from trading import signals
from trading.enums import OPEN_ORDER_STATUSES, BrokerProvider, StreamChannel
from trading.models import BrokerAccount, Instrument, Order, Position
from trading.money import ZERO
from trading.services.accounts import BALANCE_FIELDS, MARKET_TIMEZONE, balances_apply
from trading.services.bulk import rows_update
from trading.services.common import (
    CAUSE_DAY_ROLL,
    CAUSE_PRICE,
    account_lock,
    emit,
    emit_assigned,
    seq_fields,
    seq_next,
)
from trading.services.positions import MARK_FIELDS, position_mark

# Holders marked per transaction: bounds how long one price move holds their account locks.
MARK_BATCH_ACCOUNTS = 200


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
    """Mark every `provider` position in `symbol` to `price`; returns the accounts touched.

    All of the symbol's holders in one transaction and a fixed number of statements
    (lock the accounts, read their positions and open orders, write positions, accounts and
    seqs in bulk), instead of a transaction of ~9 statements per holder: see
    docs/architecture.md, "Price marks in bulk".
    """
    instrument_price_set(symbol=symbol, price=price, at=at)
    prev_close = (
        Instrument.objects.filter(symbol=symbol).values_list("prev_close", flat=True).first()
    )
    account_ids = list(
        Position.objects.filter(symbol=symbol, account__provider=provider)
        .exclude(current_price=price)
        .values_list("account_id", flat=True)
    )
    if not account_ids:
        return 0
    marked = 0
    for start in range(0, len(account_ids), MARK_BATCH_ACCOUNTS):
        marked += _mark_batch(
            account_ids[start : start + MARK_BATCH_ACCOUNTS], symbol, price, prev_close
        )
    return marked


def _mark_batch(
    account_ids: list[int], symbol: str, price: Decimal, prev_close: Decimal | None
) -> int:
    with transaction.atomic():
        # In id order, so two batches (two symbols, two processes) never wait on each other
        # in a cycle; a fill locks one account and takes its place in the queue.
        accounts = list(
            BrokerAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk")
        )
        positions: dict[int, list[Position]] = defaultdict(list)
        for position in Position.objects.filter(account_id__in=account_ids):
            positions[position.account_id].append(position)
        open_orders: dict[int, list[Order]] = defaultdict(list)
        for order in Order.objects.filter(
            account_id__in=account_ids, status__in=OPEN_ORDER_STATUSES
        ).order_by("submitted_at", "pk"):
            open_orders[order.account_id].append(order)

        moved: list[tuple[BrokerAccount, Position, int, int | None]] = []
        for account in accounts:
            held = next((p for p in positions[account.pk] if p.symbol == symbol), None)
            if held is None or held.current_price == price:
                continue  # sold or marked since the ids were read
            position_mark(held, price, prev_close)
            position_seq = seq_next(account, StreamChannel.POSITIONS)
            account_moved = balances_apply(account, positions[account.pk], open_orders[account.pk])
            account_seq = seq_next(account, StreamChannel.ACCOUNT) if account_moved else None
            moved.append((account, held, position_seq, account_seq))
        if not moved:
            return 0
        now = timezone.now()
        rows_update([m[1] for m in moved], MARK_FIELDS)
        for account, position, *_ in moved:
            account.updated_at = position.updated_at = now  # auto_now: bulk_update skips it
        rows_update(
            [m[0] for m in moved],
            [
                *BALANCE_FIELDS,
                *seq_fields(StreamChannel.POSITIONS, StreamChannel.ACCOUNT),
                "updated_at",
            ],
        )
        for account, position, position_seq, account_seq in moved:
            emit_assigned(
                account,
                StreamChannel.POSITIONS,
                signals.position_changed,
                position_seq,
                position=position,
                cause=CAUSE_PRICE,
            )
            if account_seq is not None:
                emit_assigned(
                    account,
                    StreamChannel.ACCOUNT,
                    signals.account_changed,
                    account_seq,
                    account=account,
                    cause=CAUSE_PRICE,
                )
        return len(moved)


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
