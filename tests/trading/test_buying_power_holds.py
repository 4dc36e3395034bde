"""An order never spends more buying power than it held when placed, however it fills."""

import threading
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

import pytest
from django.db import connection

from tests.factories import make_account, set_price
from trading.domain import MARKET_COLLAR
from trading.enums import OrderStatus
from trading.models import BrokerAccount, Fill, Order, SimulatedOrder
from trading.money import to_money, to_price
from trading.services.common import DomainError
from trading.services.orders import order_submit
from trading.services.prices import price_apply
from trading.services.venue_matching import venue_match

D = Decimal
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
LIQUIDITY = D("500")  # SIMULATED_MAX_FILL_QTY: shares the venue fills per tick
# The issue's symbols, at their starting prices: 1,100 to 2,200 shares for $100,000.
ISSUE_SYMBOLS = {"KO": "63.90", "BAC": "46.30", "WMT": "88.70"}


@pytest.fixture(autouse=True)
def _liquidity(settings):
    settings.SIMULATED_MAX_FILL_QTY = str(LIQUIDITY)
    settings.SIMULATED_BROKER_LATENCY_SECONDS = 0.0


def tick(symbol: str, price: Decimal) -> None:
    """One step of the simulated market: mark the books, then work the venue's orders."""
    price_apply(symbol=symbol, price=price, at=NOW)
    venue_match(symbol, price, max_fill_qty=LIQUIDITY)


def rising(start: Decimal, step: Decimal, ticks: int) -> list[Decimal]:
    prices, price = [], start
    for _ in range(ticks):
        price = to_money(price * (1 + step))
        prices.append(price)
    return prices


def spent_opening(order: Order) -> Decimal:
    """What the order's fills cost (each fill opens or adds to the position here)."""
    return sum((to_money(f.qty * f.price) for f in Fill.objects.filter(order=order)), D("0"))


def unheld_cash(account: BrokerAccount) -> Decimal:
    """Cash less every open order's remaining hold: what is really free, never below 0."""
    account.refresh_from_db()
    open_orders = account.orders.exclude(status__in=["filled", "canceled", "rejected"])
    return account.cash - sum((o.buying_power_left for o in open_orders), D("0"))


def max_market_qty(cash: Decimal, price: Decimal) -> Decimal:
    collar = to_price(price * (1 + MARKET_COLLAR))
    return (cash / collar).quantize(D("1"), rounding=ROUND_DOWN)


@pytest.mark.parametrize(("symbol", "price"), ISSUE_SYMBOLS.items())
def test_a_market_buy_of_all_buying_power_at_the_last_price_is_refused_up_front(
    account, symbol, price
):
    set_price(symbol, price)
    qty = (account.buying_power / D(price)).quantize(D("1"), rounding=ROUND_DOWN)
    assert D("1100") <= qty <= D("2200")

    with pytest.raises(DomainError) as raised:
        order_submit(account=account, symbol=symbol, side="buy", qty=qty, type="market")

    assert raised.value.code == "insufficient_buying_power"
    assert "3% above" in raised.value.message
    assert not Order.objects.exists()


@pytest.mark.parametrize(("symbol", "price"), ISSUE_SYMBOLS.items())
@pytest.mark.parametrize("step", [D("0.005"), D("0.06")], ids=["gentle", "steep"])
def test_a_market_buy_filling_over_rising_ticks_never_overspends(
    account, work_queue, symbol, price, step
):
    set_price(symbol, price)
    qty = max_market_qty(account.buying_power, D(price))
    order = order_submit(account=account, symbol=symbol, side="buy", qty=qty, type="market")
    hold = order.buying_power_hold
    assert hold <= D("100000.00")
    work_queue()  # accepted; the first 500 fill at once

    for next_price in rising(D(price), step, ticks=5):
        tick(symbol, next_price)
        assert unheld_cash(account) >= 0

    order.refresh_from_db()
    account.refresh_from_db()
    assert account.cash >= 0
    assert account.buying_power >= 0
    assert spent_opening(order) <= hold
    assert account.cash == D("100000.00") - spent_opening(order)
    if step == D("0.005"):  # within the 3% collar: all of it fills
        assert (order.status, order.filled_qty) == (OrderStatus.FILLED, qty)
    else:  # beyond it: filled as far as the hold pays, the rest canceled with the reason
        assert order.status == OrderStatus.CANCELED
        assert D("1000") <= order.filled_qty < qty
        assert "of buying power the order still held" in order.reject_reason
        assert SimulatedOrder.objects.get().status == OrderStatus.CANCELED
        assert account.buying_power == account.cash  # nothing stays held


def test_a_short_sale_filling_over_rising_ticks_spends_no_more_than_it_holds(account, work_queue):
    set_price("BAC", "46.30")
    qty = max_market_qty(account.buying_power, D("46.30"))  # 2096: five ticks' liquidity
    before = account.buying_power
    order = order_submit(account=account, symbol="BAC", side="sell", qty=qty, type="market")
    account.refresh_from_db()
    held = before - account.buying_power
    work_queue()

    for next_price in rising(D("46.30"), D("0.06"), ticks=5):
        tick("BAC", next_price)

    order.refresh_from_db()
    # Each share sold short at a higher price needs more collateral than was held for it.
    assert spent_opening(order) <= held
    assert order.status == OrderStatus.CANCELED
    assert D("1500") <= order.filled_qty < qty


def test_a_limit_short_sale_that_gaps_above_its_limit_spends_no_more_than_it_holds(
    account, work_queue
):
    set_price("TSLA", "250.00")
    # Above the collar (257.50), so it holds at its limit: 333 x 300 = 99900.
    order = order_submit(
        account=account,
        symbol="TSLA",
        side="sell",
        qty=D("333"),
        type="limit",
        limit_price=D("300.00"),
    )
    account.refresh_from_db()
    assert account.buying_power == D("100.00")
    work_queue()  # resting: 250 is below its limit

    tick("TSLA", D("320.00"))  # the market gaps over the limit: it sells at 320

    order.refresh_from_db()
    assert spent_opening(order) <= D("99900.00")
    assert order.filled_qty == D("312")  # 312 x 320 = 99840; one more would be 100160
    assert order.status == OrderStatus.CANCELED
    assert order.reject_reason == (
        "Canceled with 21 unfilled: at $320.00 they would cost more than the $60.00 "
        "of buying power the order still held."
    )


def test_a_limit_buy_fills_in_parts_within_its_hold(account, work_queue):
    set_price("AAPL", "151.00")
    order = order_submit(
        account=account,
        symbol="AAPL",
        side="buy",
        qty=D("600"),
        type="limit",
        limit_price=D("150.00"),
    )
    assert order.buying_power_hold == D("90000.00")
    work_queue()  # resting: 151 is above its limit

    for price in ("150.00", "149.50"):
        tick("AAPL", D(price))

    order.refresh_from_db()
    account.refresh_from_db()
    assert (order.status, order.filled_qty) == (OrderStatus.FILLED, D("600"))
    # 500 x 150.00 + 100 x 149.50: never more than the hold, never cut short by it
    assert spent_opening(order) == D("89950.00")
    assert account.cash == D("10050.00")
    assert account.buying_power == D("10050.00")


def test_a_limit_buy_beyond_the_cash_is_refused(account):
    set_price("AAPL", "151.00")
    with pytest.raises(DomainError):
        order_submit(
            account=account,
            symbol="AAPL",
            side="buy",
            qty=D("667"),  # 667 x 150 = 100050
            type="limit",
            limit_price=D("150.00"),
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("locked_by", ["account", "user"])  # the REST POST locks by user
def test_fifty_concurrent_submits_against_one_account_never_overspend(work_queue, locked_by):
    account = make_account("racer", cash="100000.00")
    whose = {"account": account} if locked_by == "account" else {"user_id": account.user_id}
    set_price("AAPL", "200.00")
    start = threading.Barrier(50)
    accepted: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def place(n: int) -> None:
        try:
            start.wait(timeout=30)
            order = order_submit(
                **whose,
                symbol="AAPL",
                side="buy",
                qty=D("20"),
                type="limit",
                limit_price=D("200.00"),  # holds 4000.00: room for exactly 25
                client_order_id=f"race-{n}",
            )
            accepted.append(order.client_order_id)
        except DomainError as error:
            refused.append(error.code)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()  # each thread had its own database connection

    threads = [threading.Thread(target=place, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert len(accepted) == 25
    assert refused == ["insufficient_buying_power"] * 25
    account.refresh_from_db()
    assert account.buying_power == D("0.00")
    work_queue()
    account.refresh_from_db()
    assert Order.objects.filter(status=OrderStatus.FILLED).count() == 25
    assert account.cash == D("0.00")
