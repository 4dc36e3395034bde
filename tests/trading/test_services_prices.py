"""Mark to market (price_apply, prices_apply) and the trading-day roll: marks, seqs, day P&L."""

import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DataError
from django.dispatch import Signal
from django.utils import timezone

from realtime.events.factories import account_data, position_data
from tests.factories import set_price
from tests.trading.price_signals import connect_unfolded
from trading import signals
from trading.broker.simulated.venue import SimulatedGateway
from trading.broker.types import OrderRequest
from trading.models import BrokerAccount, Instrument, Position
from trading.selectors import portfolio_snapshot_get
from trading.services.accounts import (
    BALANCE_FIELDS,
    account_books_read,
    balances_apply,
    trading_day_today,
)
from trading.services.fills import trade_update_apply
from trading.services.positions import position_mark
from trading.services.prices import price_apply, prices_apply, trading_day_roll

D = Decimal


def trade(account: BrokerAccount, symbol: str, side: str, qty: str) -> None:
    """Fill a market order at the venue at the instrument's price; both books follow."""
    gateway = SimulatedGateway(account.pk, trade_update_apply, max_fill_qty=D("1000000"))
    client_order_id = uuid.uuid4().hex
    gateway.submit_order(OrderRequest(client_order_id, symbol, side, "market", "day", D(qty), None))


def position(account: BrokerAccount, symbol: str) -> Position:
    return Position.objects.get(account=account, symbol=symbol)


Received = list[tuple[Signal, dict[str, Any]]]


@pytest.fixture
def received() -> Iterator[Received]:
    """Every position_changed and account_changed sent, in order (price marks unfolded)."""
    log: Received = []
    receivers: list[tuple[Signal, Callable[..., None]]] = []
    for signal in (signals.position_changed, signals.account_changed):

        def receiver(sender: object, signal: Signal = signal, **kwargs: Any) -> None:
            log.append((signal, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    marks = connect_unfolded(lambda signal, kwargs: log.append((signal, kwargs)))
    receivers.append((signals.prices_marked, marks))
    yield log
    for signal, receiver in receivers:
        signal.disconnect(receiver)


@pytest.fixture
def holdings(account: BrokerAccount) -> BrokerAccount:
    """10 AAPL bought at 200.00 and 5 MSFT at 400.00: cash 100000 - 2000 - 2000."""
    set_price("AAPL", "200.00")
    set_price("MSFT", "400.00")
    trade(account, "AAPL", "buy", "10")
    trade(account, "MSFT", "buy", "5")
    account.refresh_from_db()
    assert (account.cash, account.equity) == (D("96000.00"), D("100000.00"))
    return account


def test_price_apply_marks_only_that_symbol_and_signals(
    holdings, other_account, received, django_capture_on_commit_callbacks
):
    msft_before = position(holdings, "MSFT")
    with django_capture_on_commit_callbacks(execute=True):
        touched = price_apply(symbol="AAPL", price=D("210.00"), at=timezone.now())
    assert touched == 1

    aapl = position(holdings, "AAPL")
    assert (aapl.current_price, aapl.market_value, aapl.unrealized_pl) == (
        D("210.00"),
        D("2100.00"),
        D("100.00"),
    )
    assert aapl.unrealized_plpc == D("0.05")  # 100 / 2000
    assert aapl.change_today == D("0.05")  # vs prev_close 200
    msft = position(holdings, "MSFT")
    assert (msft.current_price, msft.updated_at) == (D("400.00"), msft_before.updated_at)
    instrument = Instrument.objects.get(symbol="AAPL")
    assert instrument.price == D("210.00")
    assert instrument.price_updated_at is not None

    assert [signal for signal, _ in received] == [signals.position_changed, signals.account_changed]
    moved = received[0][1]
    assert moved["account_id"] == holdings.pk
    assert (moved["position"].symbol, moved["position"].current_price) == ("AAPL", D("210.00"))
    changed = received[1][1]
    assert changed["account_id"] == holdings.pk
    assert changed["account"].equity == D("100100.00")


def test_price_apply_at_the_same_price_does_nothing(
    holdings, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert price_apply(symbol="AAPL", price=D("200.00"), at=timezone.now()) == 0
    assert received == []


def test_price_apply_without_holders_only_records_the_price(account, received):
    assert price_apply(symbol="NVDA", price=D("140.00"), at=timezone.now()) == 0
    assert Instrument.objects.get(symbol="NVDA").price == D("140.00")
    assert received == []


def test_price_apply_marks_every_holder(holdings, other_account):
    trade(other_account, "AAPL", "sell", "4")  # a short at 200
    assert price_apply(symbol="AAPL", price=D("190.00"), at=timezone.now()) == 2
    assert position(holdings, "AAPL").unrealized_pl == D("-100.00")  # 1900 - 2000
    short = position(other_account, "AAPL")
    assert (short.market_value, short.unrealized_pl) == (D("-760.00"), D("40.00"))
    other_account.refresh_from_db()
    # cash 50000 + 800; equity 50800 - 760; bp 50800 - 760 x 2
    assert (other_account.equity, other_account.buying_power) == (D("50040.00"), D("49280.00"))


def test_day_pl_follows_prices_and_the_roll_resets_the_baseline(holdings):
    price_apply(symbol="AAPL", price=D("210.00"), at=timezone.now())
    holdings.refresh_from_db()
    assert (holdings.equity, holdings.last_equity) == (D("100100.00"), D("100000.00"))
    assert (holdings.day_pl, holdings.day_pl_pct) == (D("100.00"), D("0.001"))

    tomorrow = trading_day_today() + timedelta(days=1)
    assert trading_day_roll(today=tomorrow) == 1
    holdings.refresh_from_db()
    assert (holdings.last_equity, holdings.trading_day) == (D("100100.00"), tomorrow)
    assert (holdings.day_pl, holdings.day_pl_pct) == (D("0.00"), D("0"))
    aapl = position(holdings, "AAPL")
    assert aapl.lastday_price == D("210.00")
    assert (aapl.unrealized_intraday_pl, aapl.change_today) == (D("0.00"), D("0"))
    assert aapl.unrealized_pl == D("100.00")  # the entry price is unchanged
    assert Instrument.objects.get(symbol="AAPL").prev_close == D("210.00")

    price_apply(symbol="AAPL", price=D("189.00"), at=timezone.now())
    holdings.refresh_from_db()
    assert holdings.equity == D("99890.00")  # 96000 + 1890 + 2000
    assert holdings.day_pl == D("-210.00")
    assert holdings.day_pl_pct == D("-0.002098")  # -210 / 100100 = -0.0020979...
    aapl = position(holdings, "AAPL")
    assert aapl.unrealized_intraday_pl == D("-210.00")  # 1890 - 2100
    assert aapl.unrealized_intraday_plpc == D("-0.1")
    assert aapl.change_today == D("-0.1")  # (189 - 210) / 210
    assert aapl.unrealized_pl == D("-110.00")  # 1890 - 2000


def test_roll_skips_accounts_already_on_that_day(holdings, other_account):
    today = trading_day_today()
    assert trading_day_roll(today=today) == 0
    day_after = today + timedelta(days=2)
    assert trading_day_roll(today=day_after) == 2
    assert trading_day_roll(today=day_after) == 0


def test_roll_signals_positions_and_account(holdings, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        trading_day_roll(today=date(2030, 1, 2))
    symbols = [kw["position"].symbol for s, kw in received if s is signals.position_changed]
    assert symbols == ["AAPL", "MSFT"]
    accounts = [kw["account"] for s, kw in received if s is signals.account_changed]
    assert [a.last_equity for a in accounts] == [D("100000.00")]


def test_intraday_basis_of_shares_bought_today_is_their_price(holdings):
    """Held since yesterday at a 210 close, then 10 more bought today at 220."""
    price_apply(symbol="AAPL", price=D("210.00"), at=timezone.now())
    trading_day_roll(today=trading_day_today() + timedelta(days=1))
    price_apply(symbol="AAPL", price=D("220.00"), at=timezone.now())
    trade(holdings, "AAPL", "buy", "10")
    aapl = position(holdings, "AAPL")
    # lastday: (10 x 210 + 10 x 220) / 20 = 215; avg: (10 x 200 + 10 x 220) / 20 = 210
    assert (aapl.qty, aapl.lastday_price, aapl.avg_entry_price) == (D("20"), D("215"), D("210"))
    assert aapl.unrealized_intraday_pl == D("100.00")  # 4400 - 4300: only the old shares moved
    assert aapl.change_today == D("0.047619")  # (220 - 210) / 210


def test_roll_repeated_within_a_session_keeps_the_closes(holdings):
    """A restarted market loop rolls again on its first tick: today's prices are no closes."""
    price_apply(symbol="AAPL", price=D("210.00"), at=timezone.now())
    assert trading_day_roll(today=trading_day_today()) == 0
    assert Instrument.objects.get(symbol="AAPL").prev_close == D("200.00")
    assert position(holdings, "AAPL").change_today == D("0.05")  # (210 - 200) / 200
    # The next session does take today's last price as its close.
    trading_day_roll(today=trading_day_today() + timedelta(days=1))
    assert Instrument.objects.get(symbol="AAPL").prev_close == D("210.00")


def test_bulk_marks_assign_each_accounts_next_seqs_across_batches(
    holdings, other_account, received, django_capture_on_commit_callbacks, monkeypatch
):
    from trading.services import price_marks
    from trading.services.orders import order_submit

    monkeypatch.setattr(price_marks, "MARK_BATCH_ACCOUNTS", 1)  # every holder its own batch
    trade(other_account, "AAPL", "buy", "2")
    order_submit(  # an open order's hold stays out of buying power after the mark
        account=other_account, symbol="MSFT", side="buy", qty=D("1"), type="limit",
        limit_price=D("100.00"),
    )  # fmt: skip
    before = {a.pk: (a.positions_seq, a.account_seq) for a in BrokerAccount.objects.all()}
    with django_capture_on_commit_callbacks(execute=True):
        assert price_apply(symbol="AAPL", price=D("205.00"), at=timezone.now()) == 2
    after = {a.pk: a for a in BrokerAccount.objects.all()}
    for pk in (holdings.pk, other_account.pk):
        assert after[pk].positions_seq == before[pk][0] + 1
        assert after[pk].account_seq == before[pk][1] + 1
        sent = {signal: kw["seq"] for signal, kw in received if kw["account_id"] == pk}
        assert sent == {
            signals.position_changed: after[pk].positions_seq,
            signals.account_changed: after[pk].account_seq,
        }
    other = after[other_account.pk]
    # cash 50000 - 400; 2 AAPL at 205; the limit buy holds 100.00
    assert (other.equity, other.buying_power) == (D("50010.00"), D("49500.00"))


def tick(*prices: tuple[str, str]) -> dict[str, tuple[Decimal, Any]]:
    now = timezone.now()
    return {symbol: (D(price), now) for symbol, price in prices}


def test_prices_apply_marks_each_account_once_for_all_its_symbols(
    holdings, other_account, received, django_capture_on_commit_callbacks
):
    trade(other_account, "MSFT", "sell", "2")  # a short at 400
    before = {a.pk: a for a in BrokerAccount.objects.all()}
    with django_capture_on_commit_callbacks(execute=True):
        marked = prices_apply(prices=tick(("AAPL", "210.00"), ("MSFT", "390.00")))
    assert marked == 3  # two holdings of one account, one of the other

    after = {a.pk: a for a in BrokerAccount.objects.all()}
    mine = after[holdings.pk]
    assert mine.positions_seq == before[holdings.pk].positions_seq + 2
    assert mine.account_seq == before[holdings.pk].account_seq + 1
    # cash 96000; 10 x 210 + 5 x 390
    assert (mine.equity, mine.long_market_value) == (D("100050.00"), D("4050.00"))
    other = after[other_account.pk]
    assert other.positions_seq == before[other_account.pk].positions_seq + 1
    # cash 50800; -2 x 390; bp 50800 - 780 x 2
    assert (other.equity, other.short_market_value) == (D("50020.00"), D("-780.00"))
    assert other.buying_power == D("49240.00")

    # Per account, in seq order: each marked position, then one account update.
    sent = [
        (kw["account_id"], signal, kw["seq"], kw["cause"], kw.get("position"))
        for signal, kw in received
    ]
    assert [(a, s, q) for a, s, q, _, _ in sent] == [
        (holdings.pk, signals.position_changed, mine.positions_seq - 1),
        (holdings.pk, signals.position_changed, mine.positions_seq),
        (holdings.pk, signals.account_changed, mine.account_seq),
        (other_account.pk, signals.position_changed, other.positions_seq),
        (other_account.pk, signals.account_changed, other.account_seq),
    ]
    assert {cause for *_, cause, _ in sent} == {"price"}
    assert [p.symbol for *_, p in sent if p is not None] == ["AAPL", "MSFT", "MSFT"]


def test_prices_apply_skips_an_unmoved_symbol_but_counts_its_value(
    holdings, received, django_capture_on_commit_callbacks
):
    before = BrokerAccount.objects.get(pk=holdings.pk)
    aapl = position(holdings, "AAPL")
    with django_capture_on_commit_callbacks(execute=True):
        assert prices_apply(prices=tick(("AAPL", "200.00"), ("MSFT", "401.00"))) == 1
    account = BrokerAccount.objects.get(pk=holdings.pk)
    assert account.positions_seq == before.positions_seq + 1
    assert account.long_market_value == D("4005.00")  # 2000 unmoved + 2005
    assert [kw["position"].symbol for s, kw in received if "position" in kw] == ["MSFT"]
    assert position(holdings, "AAPL").updated_at == aapl.updated_at  # not written


def test_prices_apply_records_each_symbols_price_and_time(account):
    at_aapl = timezone.now() - timedelta(seconds=3)
    at_msft = timezone.now() - timedelta(seconds=1)
    prices_apply(prices={"AAPL": (D("201.5"), at_aapl), "MSFT": (D("402.25"), at_msft)})
    stored = {i.symbol: i for i in Instrument.objects.filter(symbol__in=["AAPL", "MSFT"])}
    assert (stored["AAPL"].price, stored["AAPL"].price_updated_at) == (D("201.5"), at_aapl)
    assert (stored["MSFT"].price, stored["MSFT"].price_updated_at) == (D("402.25"), at_msft)


def test_marked_rows_are_exactly_the_computed_marks(account):
    """Odd quantities and prices: the rows read back (SQLite's doubles, PostgreSQL's
    numerics) equal the Decimal marks and balances the service computed."""
    set_price("AAPL", "187.1234", prev_close="190.0101")
    set_price("MSFT", "411.9876")
    trade(account, "AAPL", "buy", "13.123457")
    trade(account, "MSFT", "sell", "7.654321")
    held = {p.symbol: p for p in Position.objects.filter(account=account)}
    prices_apply(prices=tick(("AAPL", "191.0007"), ("MSFT", "399.4321")))
    for symbol, price in (("AAPL", D("191.0007")), ("MSFT", D("399.4321"))):
        expected = Position.objects.get(pk=held[symbol].pk)
        prev_close = Instrument.objects.get(symbol=symbol).prev_close
        position_mark(expected, price, prev_close)  # on the row as read back
        row = Position.objects.filter(pk=held[symbol].pk).values().get()
        for field, value in row.items():
            if field != "updated_at":
                assert value == getattr(expected, field), (symbol, field)
    account.refresh_from_db()
    books = account_books_read(account)
    expected_account = BrokerAccount.objects.get(pk=account.pk)
    balances_apply(expected_account, *books)
    for field in BALANCE_FIELDS:
        assert getattr(account, field) == getattr(expected_account, field), field


def test_a_mark_that_does_not_fit_its_column_writes_nothing(account, received):
    big = Position(account=account, symbol="AAPL", qty=D("2000000"), avg_entry_price=D("1"))
    big.lastday_price = D("1")
    position_mark(big, D("1"), None)
    big.save()
    before = BrokerAccount.objects.get(pk=account.pk)
    # SQLite: the column check names the field; PostgreSQL's own check, in the statement
    # that computes the marks, refuses the value as it refuses any other write.
    with pytest.raises(DataError, match=r"market_value|numeric field overflow"):
        prices_apply(prices=tick(("AAPL", "9000000.00")))  # 1.8 x 10^13: past the column
    assert Position.objects.get(pk=big.pk).current_price == D("1")
    assert BrokerAccount.objects.get(pk=account.pk).positions_seq == before.positions_seq
    assert received == []


def test_rest_and_snapshot_agree_with_the_events_after_a_tick(
    holdings, api_client, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        prices_apply(prices=tick(("AAPL", "203.37"), ("MSFT", "397.11")))
    events = {
        kw["position"].symbol: position_data(kw["position"]).model_dump(mode="json")
        for signal, kw in received
        if signal is signals.position_changed
    }
    rest = {p["symbol"]: p for p in api_client.get("/api/positions/").json()}
    assert rest == events
    [account_event] = [kw for signal, kw in received if signal is signals.account_changed]
    shown = api_client.get("/api/account/").json()
    data = account_data(account_event["account"]).model_dump(mode="json")
    assert {k: shown[k] for k in data if k in shown} == {
        k: v for k, v in data.items() if k in shown
    }
    snapshot = portfolio_snapshot_get(account_id=holdings.pk)
    last = {
        signal: max(kw["seq"] for s, kw in received if s is signal)
        for signal in (signals.position_changed, signals.account_changed)
    }
    assert snapshot.seq["positions"] == last[signals.position_changed]
    assert snapshot.seq["account"] == last[signals.account_changed]


def test_market_tick_applies_the_ticks_prices_together(holdings, received, monkeypatch):
    from trading.broker.simulated.market import PriceTick
    from trading.services import market as market_service

    calls: list[dict[str, Any]] = []
    real = prices_apply

    def spy(**kwargs: Any) -> int:
        calls.append(kwargs["prices"])
        return real(**kwargs)

    monkeypatch.setattr(market_service, "prices_apply", spy)

    class Feed:
        prices: dict[str, Decimal] = {}

        def rebase(self, prices: dict[str, Decimal]) -> None:
            pass

        def next_ticks(self) -> list[PriceTick]:
            return [PriceTick("AAPL", D("205.00")), PriceTick("MSFT", D("405.00"))]

    market = market_service.SimulatedMarket(Feed())  # type: ignore[arg-type]
    market.trading_day = trading_day_today()
    before = BrokerAccount.objects.get(pk=holdings.pk).account_seq
    assert market_service.market_tick(market) == 2
    assert [sorted(c) for c in calls] == [["AAPL", "MSFT"]]
    assert BrokerAccount.objects.get(pk=holdings.pk).account_seq == before + 1
