"""Read selectors of the trading domain; views, the API and the stream read through these."""

import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from trading.enums import OPEN_ORDER_STATUSES, JobStatus, StreamChannel
from trading.models import (
    BrokerAccount,
    EquityPoint,
    Fill,
    Instrument,
    Order,
    OrderJob,
    Position,
)
from trading.money import ratio, to_money
from trading.services.accounts import MARKET_TIMEZONE
from trading.services.row_reads import row_get, rows_read

ORDER_STATUS_FILTERS = ("open", "closed", "all")


def account_get_for_user(*, user: AbstractBaseUser) -> BrokerAccount | None:
    return BrokerAccount.objects.filter(user_id=user.pk).first()


# Each list's order, shared by its QuerySet (REST, pages) and the snapshot's row reads.
POSITIONS_ORDER = ("symbol",)
ORDERS_ORDER = ("-submitted_at", "-pk")
FILLS_ORDER = ("-executed_at", "-pk")
RECENT_FILLS = 20
_OPEN_STATUSES = tuple(sorted(OPEN_ORDER_STATUSES))


def position_list(*, account: BrokerAccount) -> QuerySet[Position]:
    return Position.objects.filter(account=account).order_by(*POSITIONS_ORDER)


def order_list(*, account: BrokerAccount, status: str = "open") -> QuerySet[Order]:
    """Orders newest first; `status` is open, closed or all (Alpaca's query values)."""
    orders = Order.objects.filter(account=account).order_by(*ORDERS_ORDER)
    if status == "open":
        return orders.filter(status__in=_OPEN_STATUSES)
    if status == "closed":
        return orders.exclude(status__in=OPEN_ORDER_STATUSES)
    return orders


def order_get(*, account: BrokerAccount, order_id: uuid.UUID | str) -> Order | None:
    """The account's order, or None: another account's order looks exactly like a missing one."""
    return Order.objects.filter(account=account, pk=order_id).first()


def instrument_list_tradable() -> QuerySet[Instrument]:
    """The symbols an order ticket offers."""
    return Instrument.objects.filter(tradable=True).order_by("symbol")


def fill_list_recent(*, account: BrokerAccount, limit: int = RECENT_FILLS) -> QuerySet[Fill]:
    return Fill.objects.filter(account=account).order_by(*FILLS_ORDER)[:limit]


@dataclass(frozen=True)
class PortfolioSnapshot:
    """Everything the live page needs, with the seq of each channel it is consistent with."""

    account: BrokerAccount
    positions: list[Position]
    open_orders: list[Order]
    recent_fills: list[Fill]
    seq: dict[str, int]


def portfolio_snapshot_get(*, account_id: int) -> PortfolioSnapshot:
    """Read the seqs first, then the rows: anything at or below a seq is in the rows.

    A change committed between the two reads is in the rows too and arrives again as an
    event above the seq; events carry whole rows, so applying it twice is harmless. The
    account's balances are read with its seqs, in one row.

    On SQLite the reads share one transaction, so the snapshot is one point in time (the
    REST poll shows balances and positions of the same moment). On PostgreSQL, under READ
    COMMITTED, every statement sees its own snapshot whether or not a transaction wraps
    them, so none does: it would add two round trips to the four reads and buy nothing.
    """
    with _one_read_on_sqlite():
        account = row_get(BrokerAccount, pk=account_id)
        seq = {
            StreamChannel.POSITIONS.value: account.positions_seq,
            StreamChannel.ORDERS.value: account.orders_seq,
            StreamChannel.ACCOUNT.value: account.account_seq,
        }
        # The lists above, read by statements built once: every (re)connecting socket
        # reads a snapshot, and building the four QuerySets was three quarters of it.
        positions = rows_read(Position, where={"account": account.pk}, order_by=POSITIONS_ORDER)
        open_orders = rows_read(
            Order,
            where={"account": account.pk, "status__in": _OPEN_STATUSES},
            order_by=ORDERS_ORDER,
        )
        recent_fills = rows_read(
            Fill, where={"account": account.pk}, order_by=FILLS_ORDER, limit=RECENT_FILLS
        )
    return PortfolioSnapshot(account, positions, open_orders, recent_fills, seq)


def _one_read_on_sqlite() -> AbstractContextManager[object]:
    if connection.vendor == "sqlite":
        return transaction.atomic()
    return nullcontext()


@dataclass(frozen=True)
class OrderQueueStats:
    queued: int
    running: int
    failed: int
    oldest_queued_age_seconds: float | None


def order_queue_stats() -> OrderQueueStats:
    """Depth of the order work queue by status, and how long its oldest queued job has waited."""
    # order_by() drops Meta.ordering, which would otherwise split the GROUP BY per row.
    rows = (
        OrderJob.objects.exclude(status=JobStatus.DONE)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    )
    counts = {row["status"]: row["n"] for row in rows}
    oldest = (
        OrderJob.objects.filter(status=JobStatus.QUEUED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else None
    return OrderQueueStats(
        queued=counts.get(JobStatus.QUEUED, 0),
        running=counts.get(JobStatus.RUNNING, 0),
        failed=counts.get(JobStatus.FAILED, 0),
        oldest_queued_age_seconds=age,
    )


HISTORY_PERIODS = {"1D": None, "1W": timedelta(days=7)}
HISTORY_TIMEFRAMES = {"1Min": 60, "5Min": 300, "15Min": 900, "1H": 3600}


@dataclass(frozen=True)
class AccountHistory:
    """Alpaca's portfolio-history shape: parallel lists, oldest first."""

    timestamp: list[int]
    equity: list[Decimal]
    profit_loss: list[Decimal]
    profit_loss_pct: list[Decimal]
    base_value: Decimal
    timeframe: str


def account_history_get(
    *, account: BrokerAccount, period: str, timeframe: str, now: datetime
) -> AccountHistory:
    """Equity over `period` (1D: since the trading day began in New York; 1W: seven days),
    the last sample of each `timeframe` bucket, then the current equity as the last point.
    P&L is against `last_equity`, the equity at the start of the trading day."""
    span = HISTORY_PERIODS[period]
    if span is None:
        day = now.astimezone(MARKET_TIMEZONE).date()
        since = datetime.combine(day, time.min, tzinfo=MARKET_TIMEZONE)
    else:
        since = now - span
    step = HISTORY_TIMEFRAMES[timeframe]
    buckets: dict[int, Decimal] = {}
    points = EquityPoint.objects.filter(account=account, at__gte=since, at__lte=now)
    for at, sampled in points.order_by("at").values_list("at", "equity"):
        stamp = int(at.timestamp())
        buckets[stamp - stamp % step] = sampled  # the bucket's last sample wins
    buckets[int(now.timestamp())] = account.equity
    base = account.last_equity
    stamps = sorted(buckets)
    equity = [buckets[s] for s in stamps]
    return AccountHistory(
        timestamp=stamps,
        equity=equity,
        profit_loss=[to_money(e - base) for e in equity],
        profit_loss_pct=[ratio(e - base, base) for e in equity],
        base_value=base,
        timeframe=timeframe,
    )
