"""Mark to market (price_apply) and the trading-day roll: position marks and day P&L."""

import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.dispatch import Signal
from django.utils import timezone

from tests.factories import set_price
from trading import signals
from trading.broker.simulated.venue import SimulatedGateway
from trading.broker.types import OrderRequest
from trading.models import BrokerAccount, Instrument, Position
from trading.services.accounts import trading_day_today
from trading.services.fills import trade_update_apply
from trading.services.prices import price_apply, trading_day_roll

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
    """Every position_changed and account_changed sent, in order."""
    log: Received = []
    receivers: list[tuple[Signal, Callable[..., None]]] = []
    for signal in (signals.position_changed, signals.account_changed):

        def receiver(sender: object, signal: Signal = signal, **kwargs: Any) -> None:
            log.append((signal, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
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
