"""Pure position, cash, P&L and buying-power arithmetic (trading.domain, trading.money)."""

from decimal import Decimal

import pytest

from trading.domain import (
    Holding,
    Marks,
    buying_power,
    cash_after_fill,
    fill_qty_within_hold,
    hold_price,
    holding_after_fill,
    marks_for,
    order_hold,
    order_reservation,
    realized_pl_of_fill,
    signed_qty,
)
from trading.money import ratio, to_avg_price, to_money, to_qty

D = Decimal


def holding(qty: str, avg: str, lastday: str | None = None) -> Holding:
    return Holding(D(qty), D(avg), D(lastday or avg))


def assert_holding(actual: Holding | None, qty: str, avg: str, lastday: str | None = None) -> None:
    assert actual is not None
    # Compare the exact digits, not only the numeric value: 8-place averages matter.
    assert (actual.qty, actual.avg_entry_price, actual.lastday_price) == (
        D(qty),
        D(avg),
        D(lastday or avg),
    )
    assert str(actual.avg_entry_price) == avg


# --- money -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.125", "0.12"),  # half-even: 2 is even, stays
        ("0.135", "0.14"),  # 3 is odd, goes up to the even 4
        ("-0.125", "-0.12"),
        ("30.375", "30.38"),
        ("1.005", "1.00"),
        ("2.0051", "2.01"),  # above the half: up
    ],
)
def test_to_money_rounds_half_even_to_cents(value, expected):
    assert str(to_money(D(value))) == expected


def test_precision_helpers():
    assert str(to_avg_price(D("1530") / D("15"))) == "102.00000000"
    assert str(to_avg_price(D("3067.40") / D("30"))) == "102.24666667"
    assert str(to_qty(D("1.2345675"))) == "1.234568"  # half-even at the 6th place: 7 -> 8
    assert ratio(D("1"), D("0")) == 0
    assert ratio(D("50"), D("-500")) == D("0.1")  # a fraction of |denominator|
    assert str(ratio(D("70"), D("980"))) == "0.071429"  # 0.0714285714...


def test_signed_qty():
    assert signed_qty("buy", D("3")) == D("3")
    assert signed_qty("sell", D("3")) == D("-3")


# --- holding_after_fill: longs -----------------------------------------------------------


def test_open_long_at_fill_price():
    after = holding_after_fill(None, "buy", D("10"), D("100.00"))
    # A position opened today has its intraday basis at the entry price.
    assert_holding(after, "10", "100.00")


def test_zero_holding_is_treated_as_flat():
    after = holding_after_fill(holding("0", "1"), "buy", D("2"), D("5.50"))
    assert_holding(after, "2", "5.50")


def test_add_to_long_weights_both_bases_by_quantity():
    # avg:     (10 x 100 + 20 x 103.37) / 30 = (1000 + 2067.40) / 30 = 102.2466666...
    # lastday: (10 x 98  + 20 x 103.37) / 30 = (980 + 2067.40) / 30  = 101.58
    after = holding_after_fill(holding("10", "100", "98"), "buy", D("20"), D("103.37"))
    assert_holding(after, "30", "102.24666667", "101.58000000")


def test_partial_close_of_long_keeps_the_bases():
    start = holding("30", "102.24666667", "101.58")
    after = holding_after_fill(start, "sell", D("10"), D("110.00"))
    assert_holding(after, "20", "102.24666667", "101.58")


def test_full_close_of_long_is_flat():
    assert holding_after_fill(holding("30", "102.5"), "sell", D("30"), D("90")) is None


def test_fractional_full_close_is_flat():
    assert holding_after_fill(holding("0.5", "10"), "sell", D("0.500000"), D("11")) is None


def test_flip_long_to_short_opens_the_rest_at_fill_price():
    # 10 long, sell 25: 10 close the long, 15 open a short at 105.
    after = holding_after_fill(holding("10", "100", "98"), "sell", D("25"), D("105.00"))
    assert_holding(after, "-15", "105.00")


def test_flip_short_to_long_opens_the_rest_at_fill_price():
    # 15 short, buy 20: 15 cover, 5 open a long at 99.50.
    after = holding_after_fill(holding("-15", "105", "104"), "buy", D("20"), D("99.50"))
    assert_holding(after, "5", "99.50")


# --- holding_after_fill: shorts ----------------------------------------------------------


def test_open_short():
    assert_holding(holding_after_fill(None, "sell", D("10"), D("50.00")), "-10", "50.00")


def test_add_to_short_weights_by_quantity():
    # (10 x 50 + 30 x 54) / 40 = (500 + 1620) / 40 = 53
    after = holding_after_fill(holding("-10", "50", "51"), "sell", D("30"), D("54"))
    # lastday: (10 x 51 + 30 x 54) / 40 = (510 + 1620) / 40 = 53.25
    assert_holding(after, "-40", "53.00000000", "53.25000000")


def test_partial_cover_keeps_the_bases():
    after = holding_after_fill(holding("-40", "53", "53.25"), "buy", D("15"), D("40"))
    assert_holding(after, "-25", "53", "53.25")


def test_full_cover_is_flat():
    assert holding_after_fill(holding("-25", "53"), "buy", D("25"), D("40")) is None


# --- cash --------------------------------------------------------------------------------


def test_cash_after_buy_pays_the_notional_in_cents():
    # 3 x 33.335 = 100.005 -> 100.00 (half-even: 0 is even)
    assert cash_after_fill(D("100000.00"), "buy", D("3"), D("33.335")) == D("99900.00")


def test_cash_after_sell_receives_the_notional_in_cents():
    # 1 x 10.135 = 10.135 -> 10.14 (3 is odd: up to the even 4)
    assert cash_after_fill(D("100.00"), "sell", D("1"), D("10.135")) == D("110.14")
    # 1 x 10.125 -> 10.12 (2 is even: stays)
    assert cash_after_fill(D("100.00"), "sell", D("1"), D("10.125")) == D("110.12")


def test_short_sale_receives_the_proceeds():
    assert cash_after_fill(D("0.00"), "sell", D("10"), D("250.00")) == D("2500.00")


# --- marks -------------------------------------------------------------------------------


def test_marks_of_a_long():
    marks = marks_for(holding("10", "100", "98"), D("105"), prev_close=D("96"))
    assert marks == Marks(
        market_value=D("1050.00"),  # 10 x 105
        cost_basis=D("1000.00"),  # 10 x 100
        unrealized_pl=D("50.00"),
        unrealized_plpc=D("0.05"),  # 50 / 1000
        unrealized_intraday_pl=D("70.00"),  # 1050 - 10 x 98 (vs lastday_price, not prev_close)
        unrealized_intraday_plpc=D("0.071429"),  # 70 / 980 = 0.0714285...
        change_today=D("0.09375"),  # (105 - 96) / 96, vs the instrument's close
    )


def test_marks_of_a_short_have_negative_value_and_basis():
    marks = marks_for(holding("-10", "50", "52"), D("45"), prev_close=D("52"))
    assert marks == Marks(
        market_value=D("-450.00"),
        cost_basis=D("-500.00"),
        unrealized_pl=D("50.00"),  # -450 - (-500): the price fell, the short gained
        unrealized_plpc=D("0.1"),  # 50 / |-500|
        unrealized_intraday_pl=D("70.00"),  # -450 - (-520)
        unrealized_intraday_plpc=D("0.134615"),  # 70 / 520 = 0.1346153...
        change_today=D("-0.134615"),  # (45 - 52) / 52
    )


def test_marks_of_a_losing_short():
    marks = marks_for(holding("-10", "50"), D("55.55"), prev_close=D("50"))
    assert marks.market_value == D("-555.50")
    assert marks.unrealized_pl == D("-55.50")
    assert marks.unrealized_plpc == D("-0.111")  # -55.50 / 500


def test_marks_without_prev_close_have_no_change_today():
    assert marks_for(holding("1", "10"), D("11"), prev_close=None).change_today == 0


def test_marks_round_half_even_to_cents():
    marks = marks_for(holding("1", "0.125"), D("0.135"), prev_close=None)
    assert marks.market_value == D("0.14")  # 0.135 -> 0.14
    assert marks.cost_basis == D("0.12")  # 0.125 -> 0.12
    assert marks.unrealized_pl == D("0.02")
    assert marks.unrealized_plpc == D("0.166667")  # 0.02 / 0.12
    odd = marks_for(holding("3", "10.125"), D("10.125"), prev_close=None)
    assert odd.market_value == odd.cost_basis == D("30.38")  # 30.375 -> 30.38


# --- reservations and buying power -------------------------------------------------------


def test_buy_reserves_its_notional_in_cents():
    assert order_reservation("buy", D("10"), D("150"), D("0")) == D("1500.00")
    # 3 x 33.335 = 100.005 -> 100.00
    assert order_reservation("buy", D("3"), D("33.335"), D("0")) == D("100.00")
    # A buy adding to a long reserves all of it.
    assert order_reservation("buy", D("10"), D("150"), D("20")) == D("1500.00")


def test_short_sale_reserves_its_value():
    # 10 x 100
    assert order_reservation("sell", D("10"), D("100"), D("0")) == D("1000.00")
    # Adding to a short: all of it.
    assert order_reservation("sell", D("10"), D("100"), D("-5")) == D("1000.00")


def test_sell_covered_by_a_long_reserves_nothing():
    assert order_reservation("sell", D("10"), D("100"), D("10")) == 0
    assert order_reservation("sell", D("4"), D("100"), D("10")) == 0
    # Sell 15 holding 10: only the 5 that go short: 5 x 100
    assert order_reservation("sell", D("15"), D("100"), D("10")) == D("500.00")


def test_buy_covering_a_short_reserves_nothing():
    # As at Alpaca, only orders that open or add to a position need buying power:
    # a trader must always be able to close a losing short.
    assert order_reservation("buy", D("10"), D("400"), D("-10")) == 0
    assert order_reservation("buy", D("4"), D("400"), D("-10")) == 0
    # Buy 15 while 10 short: the 5 that open a long, 5 x 400
    assert order_reservation("buy", D("15"), D("400"), D("-10")) == D("2000.00")


def test_nothing_left_reserves_nothing():
    assert order_reservation("buy", D("0"), D("100"), D("0")) == 0
    assert order_reservation("sell", D("-1"), D("100"), D("0")) == 0


def test_buying_power_holds_back_short_proceeds_collateral_and_reservations():
    # 10000 - |-2000| x 2 - 500
    assert buying_power(D("10000.00"), D("-2000.00"), D("500.00")) == D("5500.00")
    assert buying_power(D("10000.00"), D("0"), D("0")) == D("10000.00")


def test_buying_power_is_never_negative():
    # 1000 - 1000 x 2 = -1000 -> 0
    result = buying_power(D("1000.00"), D("-1000.00"), D("0"))
    assert result == 0
    assert str(result) == "0.00"
    assert buying_power(D("100.00"), D("0"), D("100.01")) == D("0.00")


def test_buy_fill_uses_exactly_the_buying_power_it_reserved():
    # The reservation is what the fill then takes: bp is unchanged by the fill itself.
    cash, price, qty = D("5000.00"), D("123.45"), D("7")
    reserved = order_reservation("buy", qty, price, D("0"))
    before_fill = buying_power(cash, D("0"), reserved)
    after_fill = buying_power(cash_after_fill(cash, "buy", qty, price), D("0"), D("0"))
    assert before_fill == after_fill == D("4135.85")  # 5000 - 864.15


def test_hold_price_follows_alpacas_order_values():
    market = D("200.00")
    assert hold_price("buy", "limit", D("150"), market) == D("150")
    assert hold_price("buy", "market", None, market) == D("206.0000")  # the 3% collar
    assert hold_price("sell", "market", None, market) == D("206.0000")
    # A short sale fills at or above its limit: the higher of the limit and the collar.
    assert hold_price("sell", "limit", D("300"), market) == D("300")
    assert hold_price("sell", "limit", D("190"), market) == D("206.0000")


def test_order_hold_rounds_up_so_a_fill_at_the_hold_price_fits():
    # 3 x 33.335 = 100.005: settled half-even that is 100.00, but the hold never falls short
    assert order_hold("buy", D("3"), D("33.335"), D("0")) == D("100.01")
    assert order_hold("sell", D("10"), D("100"), D("10")) == 0  # covered by the long


def test_fill_within_hold_caps_what_opens_and_lets_what_closes_through():
    # 1064 left at 72.00 with 35939.60 held: 499 whole shares (35928.00) fit, not 500
    assert fill_qty_within_hold(
        "buy", D("500"), D("72.00"), D("0"), D("35939.60"), whole_shares=True
    ) == D("499")
    assert fill_qty_within_hold(
        "buy", D("500"), D("72.00"), D("0"), D("35939.60"), whole_shares=False
    ) == D("499.161111")
    # Covering a 300-share short costs no hold; only the 200 beyond it do.
    assert fill_qty_within_hold(
        "buy", D("500"), D("10.00"), D("-300"), D("1000.00"), whole_shares=True
    ) == D("400")
    assert (
        fill_qty_within_hold("sell", D("50"), D("10.00"), D("0"), D("0.00"), whole_shares=True) == 0
    )


@pytest.mark.parametrize(
    ("holding", "side", "qty", "price", "expected"),
    [
        (None, "buy", "5", "10", "0"),  # opening realizes nothing
        (Holding(D("10"), D("100"), D("100")), "buy", "5", "90", "0"),  # adding
        (Holding(D("10"), D("100"), D("100")), "sell", "4", "110.005", "40.02"),  # cents, half even
        (Holding(D("10"), D("100"), D("100")), "sell", "15", "90", "-100.00"),  # flip: 10 close
        (Holding(D("-10"), D("50"), D("50")), "buy", "10", "40", "100.00"),  # cover a short
        (Holding(D("-10"), D("50"), D("50")), "buy", "3", "55", "-15.00"),
        (Holding(D("0.5"), D("200"), D("200")), "sell", "0.5", "201", "0.50"),  # fractional
    ],
)
def test_realized_pl_of_fill(holding, side, qty, price, expected):
    assert realized_pl_of_fill(holding, side, D(qty), D(price)) == D(expected)
