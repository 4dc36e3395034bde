"""Marking many accounts' positions to new prices at once: a few statements a batch."""

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Q
from django.db.models.base import ModelState
from django.utils import timezone

from trading import signals
from trading.domain import Holding, marks_for
from trading.enums import OPEN_ORDER_STATUSES, StreamChannel
from trading.models import BrokerAccount, Instrument, Order, Position
from trading.services.accounts import BALANCE_FIELDS, balances_apply
from trading.services.bulk_rows import pg_array, rows_write
from trading.services.common import CAUSE_PRICE, seq_fields, seq_next

logger = logging.getLogger(__name__)

# Holder accounts marked per transaction: bounds how long one tick holds their locks.
MARK_BATCH_ACCOUNTS = 200

# What a mark reads of a position: the holding, the price it was marked at, and the value
# the account's balances sum when this symbol did not move.
_READ = ("id", "account_id", "symbol", "qty", "avg_entry_price", "lastday_price")
_READ_CURRENT = ("current_price", "market_value")
# What a mark writes. cost_basis is qty x entry price: a price move leaves it as it is.
_MARKS = (
    "market_value",
    "unrealized_pl",
    "unrealized_plpc",
    "unrealized_intraday_pl",
    "unrealized_intraday_plpc",
    "change_today",
)
_POSITION_WRITE = ("current_price", *_MARKS, "updated_at")
_ACCOUNT_WRITE = (
    *BALANCE_FIELDS,
    *seq_fields(StreamChannel.POSITIONS, StreamChannel.ACCOUNT),
    "updated_at",
)
# A marked position is built from its values in this order (see _position_built); the
# check below fails if the model's columns change.
_POSITION_ORDER = (
    "id",
    "account_id",
    "symbol",
    "qty",
    "avg_entry_price",
    "current_price",
    "lastday_price",
    "market_value",
    "cost_basis",
    *_MARKS[1:],
    "updated_at",
)
if tuple(f.attname for f in Position._meta.concrete_fields) != _POSITION_ORDER:
    raise ImportError("Position's columns changed: update price_marks._POSITION_ORDER")


@dataclass(frozen=True, slots=True)
class AccountMarked:
    """One account's part of a committed batch of marks (what `signals.prices_marked` carries)."""

    account: BrokerAccount
    # (positions seq, the position as marked), in seq order (symbol order).
    positions: list[tuple[int, Position]]
    # The account's new account seq, or None when its balances did not move.
    account_seq: int | None


def holder_ids(prices: Mapping[str, Decimal], provider: str) -> list[int]:
    """Accounts of `provider` holding one of the symbols at another price, in id order."""
    moved = Q()
    for symbol, price in prices.items():
        moved |= Q(symbol=symbol) & ~Q(current_price=price)
    return list(
        Position.objects.filter(moved, account__provider=provider)
        .order_by("account_id")
        .values_list("account_id", flat=True)
        .distinct()
    )


def instrument_prices_set(prices: Mapping[str, tuple[Decimal, datetime]]) -> None:
    """Record each symbol's latest trade price and its time, in one write."""
    rows = [(price, at, symbol) for symbol, (price, at) in prices.items()]
    rows_write(Instrument, ("price", "price_updated_at"), rows, key="symbol")


def accounts_mark(
    account_ids: Sequence[int], prices: Mapping[str, Decimal], prev_closes: Mapping[str, Any]
) -> int:
    """In one transaction: mark the accounts' positions in `prices`; each account's balances
    once, a positions seq per marked position, at most one account seq; returns the marks."""
    with transaction.atomic():
        # In id order, so two batches (two processes) never wait on each other in a cycle;
        # a fill locks one account and takes its place in the queue.
        accounts = list(
            BrokerAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk")
        )
        now = timezone.now()
        alias = router.db_for_write(Position)
        # PostgreSQL computes, writes and returns the marks in one statement; SQLite marks
        # in Python (its decimals are doubles) and the rows are written below.
        in_sql = connections[alias].vendor == "postgresql"
        marking = _positions_marked_in_sql if in_sql else _positions_marked
        held, moved = marking(account_ids, prices, prev_closes, now)
        open_orders: dict[int, list[Order]] = defaultdict(list)
        for order in Order.objects.filter(
            account_id__in=[pk for pk in account_ids if pk in moved], status__in=OPEN_ORDER_STATUSES
        ).order_by("submitted_at", "pk"):
            open_orders[order.account_id].append(order)

        written: list[BrokerAccount] = []
        sends: list[AccountMarked] = []
        for account in accounts:
            marked = moved.get(account.pk)
            if not marked:
                continue  # sold, or marked by another process, since the ids were read
            seqs = [(seq_next(account, StreamChannel.POSITIONS), p) for p in marked]
            account_seq = None
            if balances_apply(account, held[account.pk], open_orders[account.pk]):
                account_seq = seq_next(account, StreamChannel.ACCOUNT)
            sends.append(AccountMarked(account, seqs, account_seq))
            account.updated_at = now  # auto_now: a raw UPDATE skips it
            written.append(account)
        if not written:
            return 0
        if not in_sql:
            rows_write(
                Position,
                _POSITION_WRITE,
                [
                    (*(getattr(p, name) for name in _POSITION_WRITE), p.pk)
                    for account in written
                    for p in moved[account.pk]
                ],
            )
        rows_write(
            BrokerAccount,
            _ACCOUNT_WRITE,
            [(*(getattr(a, name) for name in _ACCOUNT_WRITE), a.pk) for a in written],
        )
        # Every object sent is new to this transaction and not changed after: no copies.
        transaction.on_commit(lambda: _signals_send(sends, now), robust=True)
        return sum(len(moved[account.pk]) for account in written)


def _positions_marked(
    account_ids: Sequence[int],
    prices: Mapping[str, Decimal],
    prev_closes: Mapping[str, Any],
    now: datetime,
) -> tuple[dict[int, list[Position]], dict[int, list[Position]]]:
    """Every position of the accounts (for their balances) and the ones marked, by account.

    Read as values, not models (a model per row and every column's converter were most of
    a tick): a marked position is built from its holding and the new marks; one that did
    not move only carries what balances read (symbol, qty, market value).
    """
    held: dict[int, list[Position]] = defaultdict(list)
    moved: dict[int, list[Position]] = defaultdict(list)
    alias = router.db_for_read(Position)
    rows = Position.objects.filter(account_id__in=account_ids).order_by("account_id", "symbol")
    for pk, account_id, symbol, qty, entry, lastday, current, value in rows.values_list(
        *_READ, *_READ_CURRENT
    ):
        price = prices.get(symbol)
        if price is None or price == current:
            position = Position(id=pk, account_id=account_id, symbol=symbol, qty=qty)
            position.market_value = value
        else:
            m = marks_for(Holding(qty, entry, lastday), price, prev_closes.get(symbol))
            position = _position_built(
                (
                    pk,
                    account_id,
                    symbol,
                    qty,
                    entry,
                    price,
                    lastday,
                    m.market_value,
                    m.cost_basis,
                    m.unrealized_pl,
                    m.unrealized_plpc,
                    m.unrealized_intraday_pl,
                    m.unrealized_intraday_plpc,
                    m.change_today,
                    now,
                ),
                alias,
            )
            moved[account_id].append(position)
        held[account_id].append(position)
    return held, moved


def _half_even(exact: str, rounded: str, places: int) -> str:
    """SQL for `exact` rounded to `places` decimals half to even, as trading.money rounds,
    given `rounded` = round(exact, places): round() takes a half away from zero, so an
    exact half whose rounded last digit came out odd goes back one unit."""
    unit, half = Decimal(1).scaleb(-places), Decimal(5).scaleb(-places - 1)
    return (
        f"CASE WHEN abs({rounded} - {exact}) = {half} AND mod({rounded} * {10**places}, 2) <> 0 "
        f"THEN {rounded} - sign({exact}) * {unit} ELSE {rounded} END"
    )


# trading.money.ratio (numerator / |denominator| at 6 decimals, half to even, 0 when the
# denominator is) in three steps: the exact quotient's whole millionths, twice what is left
# over, then the rounding. PostgreSQL's `/` rounds at a scale of its own. Python's quotient
# is rounded to 28 digits before its 6 decimals; for values that fit the columns that never
# moves the result (a quotient of two column values that near a half without being one
# would need a numerator of 10^21 of its last place: cents, or a price's 10^-8).
def _ratio_whole(num: str, den: str) -> str:
    return f"CASE WHEN {den} = 0 THEN 0 ELSE div({num} * 1000000, abs({den})) END"


def _ratio_rest(num: str, den: str, whole: str) -> str:
    return f"CASE WHEN {den} = 0 THEN 0 ELSE 2 * abs({num} * 1000000 - {whole} * abs({den})) END"


def _ratio(num: str, den: str, whole: str, rest: str) -> str:
    return (
        f"CASE WHEN {den} = 0 THEN 0 WHEN {rest} > abs({den}) OR ({rest} = abs({den}) "
        f"AND mod({whole}, 2) <> 0) THEN ({whole} + sign({num})) * 0.000001 "
        f"ELSE {whole} * 0.000001 END"
    )


def _stacked(source: str, *levels: dict[str, str]) -> str:
    """SELECTs nested over `source`, each adding its named expressions over the level below
    (`s.` names its columns). OFFSET 0 keeps each level a level: pulled up, every reference
    to a value would compute it again."""
    sql = source
    for level in levels:
        added = ", ".join(f"{expr} AS {name}" for name, expr in level.items())
        sql = f"SELECT s.*, {added} FROM ({sql} OFFSET 0) s"  # noqa: S608 (our own expressions)
    return sql


_MARKED = _stacked(
    # Every position of the batch's accounts, with its symbol's new price if it moved.
    "SELECT p.id, p.account_id, p.symbol, p.qty, p.market_value AS held_value, "
    "v.price IS NOT NULL AND p.current_price <> v.price AS moved, v.price, "
    "coalesce(v.prev_close, 0) AS prev_close, p.qty * v.price AS x_value, "
    "p.qty * p.avg_entry_price AS x_cost, p.qty * p.lastday_price AS x_intraday "
    "FROM trading_position p LEFT JOIN unnest(%(symbols)s::varchar[], %(prices)s::numeric[], "
    "%(prev_closes)s::numeric[]) AS v(symbol, price, prev_close) ON p.symbol = v.symbol "
    "WHERE p.account_id = ANY(%(accounts)s::bigint[])",
    {
        "r_value": "round(s.x_value, 2)",
        "r_cost": "round(s.x_cost, 2)",
        "r_intraday": "round(s.x_intraday, 2)",
    },
    {
        "mark_value": _half_even("s.x_value", "s.r_value", 2),
        "cost_basis": _half_even("s.x_cost", "s.r_cost", 2),
        "intraday_basis": _half_even("s.x_intraday", "s.r_intraday", 2),
        "change": "s.price - s.prev_close",
    },
    {"pl": "s.mark_value - s.cost_basis", "ipl": "s.mark_value - s.intraday_basis"},
    {
        "w_pl": _ratio_whole("s.pl", "s.cost_basis"),
        "w_ipl": _ratio_whole("s.ipl", "s.intraday_basis"),
        "w_change": _ratio_whole("s.change", "s.prev_close"),
    },
    {
        "r_pl": _ratio_rest("s.pl", "s.cost_basis", "s.w_pl"),
        "r_ipl": _ratio_rest("s.ipl", "s.intraday_basis", "s.w_ipl"),
        "r_change": _ratio_rest("s.change", "s.prev_close", "s.w_change"),
    },
    {
        "plpc": _ratio("s.pl", "s.cost_basis", "s.w_pl", "s.r_pl"),
        "iplpc": _ratio("s.ipl", "s.intraday_basis", "s.w_ipl", "s.r_ipl"),
        "change_today": _ratio("s.change", "s.prev_close", "s.w_change", "s.r_change"),
    },
)
# One statement per batch on PostgreSQL: each moved position's marks computed from its
# holding and the tick's prices (trading.domain.marks_for's arithmetic, exactly: numeric
# products are exact, rounded half to even as above), written, and returned in
# _POSITION_ORDER after a "moved" flag (but updated_at: it is `now`, and psycopg's
# timestamptz loader was a tenth of a tick); then the unmoved positions' values balances read
# (symbol, qty, market value); by account and symbol. Reading the rows, marking them in
# Python and writing them back as arrays took most of a tick's CPU, in this process.
# cost_basis is returned as computed, as the Python path marks it (a mark does not write it).
_MARK_SQL = f"""
WITH c AS MATERIALIZED ({_MARKED}),
marked AS (
    UPDATE trading_position p SET current_price = c.price, market_value = c.mark_value,
        unrealized_pl = c.pl, unrealized_plpc = c.plpc, unrealized_intraday_pl = c.ipl,
        unrealized_intraday_plpc = c.iplpc, change_today = c.change_today,
        updated_at = %(now)s
    FROM c WHERE p.id = c.id AND c.moved
    RETURNING true, p.id, p.account_id, p.symbol, p.qty, p.avg_entry_price, p.current_price,
        p.lastday_price, p.market_value, c.cost_basis, p.unrealized_pl, p.unrealized_plpc,
        p.unrealized_intraday_pl, p.unrealized_intraday_plpc, p.change_today
)
SELECT * FROM marked
UNION ALL
SELECT false, id, account_id, symbol, qty, NULL, NULL, NULL, held_value, NULL, NULL, NULL,
    NULL, NULL, NULL
FROM c WHERE NOT moved
ORDER BY 3, 4
"""  # noqa: S608 (no value in the text: every one is a parameter)
if Position._meta.db_table != "trading_position":
    raise ImportError("Position's table changed: update price_marks._MARK_SQL")


def _positions_marked_in_sql(
    account_ids: Sequence[int],
    prices: Mapping[str, Decimal],
    prev_closes: Mapping[str, Any],
    now: datetime,
) -> tuple[dict[int, list[Position]], dict[int, list[Position]]]:
    """_positions_marked on PostgreSQL, the moved positions written too: by _MARK_SQL, the
    marked positions built from what it returns (the values as stored)."""
    held: dict[int, list[Position]] = defaultdict(list)
    moved: dict[int, list[Position]] = defaultdict(list)
    alias = router.db_for_write(Position)
    symbols = list(prices)
    params: dict[str, str | datetime] = {
        "symbols": pg_array(symbols),
        "prices": pg_array([prices[s] for s in symbols]),
        "prev_closes": pg_array([prev_closes.get(s) for s in symbols]),
        "accounts": pg_array(list(account_ids)),
        "now": now,
    }
    with connections[alias].cursor() as cursor:
        cursor.execute(_MARK_SQL, params)
        rows = cursor.fetchall()
    for row in rows:
        if row[0]:
            position = _position_built((*row[1:], now), alias)
            moved[position.account_id].append(position)
        else:
            position = Position(id=row[1], account_id=row[2], symbol=row[3], qty=row[4])
            position.market_value = row[8]
        held[position.account_id].append(position)
    return held, moved


def _position_built(values: tuple[Any, ...], alias: str) -> Position:
    """A Position as read from `alias`, every column given in _POSITION_ORDER.

    Without Model.__init__: its per-field setattr and the pre_init/post_init signals it
    sends (no receiver for Position) were a sixth of a tick at 10,000 marks. Assigning
    the instance dict is what __init__ does for plain columns.
    """
    position = Position.__new__(Position)
    position.__dict__.update(zip(_POSITION_ORDER, values, strict=True))
    position._state = ModelState()
    position._state.adding = False
    position._state.db = alias
    return position


def _signals_send(sends: list[AccountMarked], at: datetime) -> None:
    """After the commit: the batch's marks in one signal (one dispatch, not 10,000)."""
    for receiver, result in signals.prices_marked.send_robust(
        sender=BrokerAccount, marked=sends, at=at, cause=CAUSE_PRICE
    ):
        if isinstance(result, Exception):
            logger.error(
                "receiver %r failed for %d marked accounts", receiver, len(sends), exc_info=result
            )
