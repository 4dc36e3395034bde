"""Price marks are the exact Decimal marks on both databases (PostgreSQL computes them in
SQL, SQLite in Python): halves to even, shorts, missing closes, and random holdings."""

import gc
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import make_account
from trading import signals
from trading.models import BrokerAccount, Instrument, Position
from trading.services import prices as prices_service
from trading.services.accounts import BALANCE_FIELDS, account_books_read, balances_apply
from trading.services.positions import position_mark
from trading.services.prices import collector_paused, prices_apply

D = Decimal

# qty, avg entry, lastday price, previous close (None: none yet), new price. Each is a
# case where rounding a half away from zero (PostgreSQL's round) or truncating differs
# from trading.money's half to even.
CASES = [
    # pl 0.01 on a basis of 800.00: 0.0000125 -> 0.000012 (plpc, intraday, change today)
    ("1", "800", "800", "800", "800.01"),
    # 0.03 / 800 = 0.0000375 -> 0.000038, up to the even digit
    ("1", "800", "800", "800", "800.03"),
    # a short: -800.01 against -800.00, -0.0000125 -> -0.000012
    ("-1", "800", "800", "800", "800.01"),
    # market value 100.125 -> 100.12, no previous close: change today 0
    ("1", "100", "100", None, "100.125"),
    # 100.135 -> 100.14; a previous close of 0: change today 0
    ("1", "100", "100", "0", "100.135"),
    # a short's value -100.005 -> -100.00
    ("-3", "33", "33", "33", "33.335"),
    # cost basis 0.000001 x 1 -> 0.00: its ratio is 0
    ("0.000001", "1", "1", "1", "2"),
    # 0.03 / 21 = 0.00142857...: not a half
    ("3", "7", "7", "7", "7.01"),
]


@pytest.fixture
def symbols(db: None) -> list[str]:
    return list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True))


@pytest.fixture
def batches() -> Iterator[list[Any]]:
    """What each prices_marked send carried (the events are built from it)."""
    sent: list[Any] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        sent.extend(kwargs["marked"])

    signals.prices_marked.connect(receiver, weak=False)
    yield sent
    signals.prices_marked.disconnect(receiver)


def held(account: BrokerAccount, symbol: str, qty: str, entry: str, lastday: str) -> Position:
    """A position marked at 0.5, a price no tick here moves it to."""
    position = Position(account=account, symbol=symbol, qty=D(qty), avg_entry_price=D(entry))
    position.lastday_price = D(lastday)
    position_mark(position, D("0.5"), None)
    position.save()
    return position


def assert_marked_exactly(
    positions: list[Position], ticked: dict[str, Decimal], batches: list[Any], on_commit: Any
) -> None:
    """Every row as position_mark computes it from the row read back before the tick, the
    objects the signal carried equal to the rows, and the balances as balances_apply has
    them from the books."""
    closes = dict(Instrument.objects.values_list("symbol", "prev_close"))
    expected = {}
    for position in positions:
        before = Position.objects.get(pk=position.pk)
        position_mark(before, ticked[before.symbol], closes[before.symbol])
        expected[position.pk] = before
    with on_commit(execute=True):
        prices_apply(prices={s: (price, timezone.now()) for s, price in ticked.items()})
    sent = {p.pk: p for item in batches for _, p in item.positions}
    assert set(sent) == set(expected)
    for pk, want in expected.items():
        row = Position.objects.filter(pk=pk).values().get()
        for field, value in row.items():
            if field == "updated_at":
                continue
            assert value == getattr(want, field), (want.symbol, want.qty, field)
            assert getattr(sent[pk], field) == value, (want.symbol, want.qty, field, "sent")
    for account in {p.account for p in positions}:
        account.refresh_from_db()
        recomputed = BrokerAccount.objects.get(pk=account.pk)
        balances_apply(recomputed, *account_books_read(recomputed))
        for field in BALANCE_FIELDS:
            assert getattr(account, field) == getattr(recomputed, field), field


def test_marks_round_halves_to_even_as_the_decimal_marks_do(
    account, symbols, batches, django_capture_on_commit_callbacks
):
    ticked = {}
    positions = []
    for symbol, (qty, entry, lastday, close, price) in zip(symbols, CASES, strict=False):
        Instrument.objects.filter(symbol=symbol).update(
            prev_close=None if close is None else D(close)
        )
        positions.append(held(account, symbol, qty, entry, lastday))
        ticked[symbol] = D(price)
    assert_marked_exactly(positions, ticked, batches, django_capture_on_commit_callbacks)
    by_symbol = {p.symbol: p for p in Position.objects.filter(account=account)}
    first, short, tie = by_symbol[symbols[0]], by_symbol[symbols[2]], by_symbol[symbols[3]]
    assert (first.unrealized_plpc, first.change_today) == (D("0.000012"), D("0.000012"))
    assert (short.market_value, short.unrealized_plpc) == (D("-800.01"), D("-0.000012"))
    assert (tie.market_value, tie.change_today) == (D("100.12"), D("0"))


def test_marks_of_random_holdings_are_the_decimal_marks(
    db, symbols, batches, django_capture_on_commit_callbacks
):
    rng = random.Random(20261203)
    accounts = [make_account(f"marks{i}") for i in range(6)]
    for symbol in symbols:
        close = rng.choice([None, D(rng.randint(1, 10**10)) / 10**6])
        Instrument.objects.filter(symbol=symbol).update(prev_close=close)
    positions = []
    for account in accounts:
        for symbol in rng.sample(symbols, 20):
            qty = D(rng.choice([-1, 1]) * rng.randint(1, 10**9)) / 10**6
            entry = str(D(rng.randint(1, 10**11)) / 10**8)
            lastday = str(D(rng.randint(1, 10**11)) / 10**8)
            positions.append(held(account, symbol, str(qty), entry, lastday))
    ticked = {s: D(rng.randint(10**4, 10**8)) / 10**4 for s in symbols}
    assert_marked_exactly(positions, ticked, batches, django_capture_on_commit_callbacks)


def test_prices_apply_marks_with_the_collector_paused(account, symbols, monkeypatch):
    held(account, symbols[0], "10", "100", "100")
    seen: list[bool] = []
    real = prices_service.accounts_mark  # type: ignore[attr-defined]

    def spy(*args: Any) -> int:
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(prices_service, "accounts_mark", spy)
    assert gc.isenabled()
    assert prices_apply(prices={symbols[0]: (D("101"), timezone.now())}) == 1
    assert seen == [False]
    assert gc.isenabled()


def test_collector_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()
