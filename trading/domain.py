"""Pure position and P&L arithmetic on Decimals; no database, no side effects."""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from trading.enums import OrderSide, OrderType
from trading.money import (
    MONEY_PLACES,
    QTY_PLACES,
    ZERO,
    ratio,
    to_avg_price,
    to_money,
    to_price,
    to_qty,
)

# A short position holds back its proceeds plus collateral equal to its value, so its
# proceeds never count as buying power. An open short sale reserves its value (like a
# buy) and, once filled, holds back exactly that much: buying power does not jump.
SHORT_HELD_MULTIPLE = Decimal("2")
# Market orders and short sales hold buying power at 3 % above the last price, as Alpaca
# values them: an order filling in parts while the price rises stays within its hold.
MARKET_COLLAR = Decimal("0.03")


@dataclass(frozen=True)
class Holding:
    """A position's quantity (signed) and its price bases."""

    qty: Decimal
    avg_entry_price: Decimal
    lastday_price: Decimal


@dataclass(frozen=True)
class Marks:
    """A position marked to market."""

    market_value: Decimal
    cost_basis: Decimal
    unrealized_pl: Decimal
    unrealized_plpc: Decimal
    unrealized_intraday_pl: Decimal
    unrealized_intraday_plpc: Decimal
    change_today: Decimal


def signed_qty(side: str, qty: Decimal) -> Decimal:
    """Buys add to a position, sells subtract from it."""
    return qty if side == OrderSide.BUY else -qty


def _blend(old_qty: Decimal, old_price: Decimal, add_qty: Decimal, price: Decimal) -> Decimal:
    total = abs(old_qty) + abs(add_qty)
    return to_avg_price((abs(old_qty) * old_price + abs(add_qty) * price) / total)


def holding_after_fill(
    holding: Holding | None, side: str, fill_qty: Decimal, price: Decimal
) -> Holding | None:
    """Apply one execution; None means the position is flat afterwards."""
    delta = signed_qty(side, fill_qty)
    if holding is None or holding.qty == 0:
        return Holding(qty=to_qty(delta), avg_entry_price=price, lastday_price=price)
    new_qty = to_qty(holding.qty + delta)
    if new_qty == 0:
        return None
    if (holding.qty > 0) == (delta > 0):
        # Adding to the position: both bases become quantity-weighted averages.
        return Holding(
            qty=new_qty,
            avg_entry_price=_blend(holding.qty, holding.avg_entry_price, delta, price),
            lastday_price=_blend(holding.qty, holding.lastday_price, delta, price),
        )
    if (holding.qty > 0) == (new_qty > 0):
        # Reducing: what is left keeps its entry price.
        return Holding(new_qty, holding.avg_entry_price, holding.lastday_price)
    # Flipping through zero: the remainder is a new position opened at this price.
    return Holding(qty=new_qty, avg_entry_price=price, lastday_price=price)


def realized_pl_of_fill(
    holding: Holding | None, side: str, fill_qty: Decimal, price: Decimal
) -> Decimal:
    """P&L that one execution locks in: what it closes of the position, against its entry.

    Selling out of a long realizes (price - entry) per share, buying back a short
    (entry - price); an execution that only opens or adds realizes nothing.
    """
    if holding is None or holding.qty == 0:
        return ZERO
    delta = signed_qty(side, fill_qty)
    if (holding.qty > 0) == (delta > 0):
        return ZERO
    closed = min(abs(delta), abs(holding.qty))
    per_share = (
        price - holding.avg_entry_price if holding.qty > 0 else holding.avg_entry_price - price
    )
    return to_money(closed * per_share)


def cash_after_fill(cash: Decimal, side: str, fill_qty: Decimal, price: Decimal) -> Decimal:
    """Buying pays the notional, selling (long or short) receives it; settled in cents."""
    notional = to_money(fill_qty * price)
    return cash - notional if side == OrderSide.BUY else cash + notional


def marks_for(holding: Holding, current_price: Decimal, prev_close: Decimal | None) -> Marks:
    """Market value and P&L of a holding at the current price (Alpaca's field meanings)."""
    market_value = to_money(holding.qty * current_price)
    cost_basis = to_money(holding.qty * holding.avg_entry_price)
    unrealized_pl = market_value - cost_basis
    intraday_basis = to_money(holding.qty * holding.lastday_price)
    intraday_pl = market_value - intraday_basis
    change_today = ratio(current_price - prev_close, prev_close) if prev_close else ZERO
    return Marks(
        market_value=market_value,
        cost_basis=cost_basis,
        unrealized_pl=unrealized_pl,
        unrealized_plpc=ratio(unrealized_pl, cost_basis),
        unrealized_intraday_pl=intraday_pl,
        unrealized_intraday_plpc=ratio(intraday_pl, intraday_basis),
        change_today=change_today,
    )


def opening_qty(side: str, qty: Decimal, position_qty: Decimal) -> Decimal:
    """The part of `qty` that opens or adds to a position; the rest closes one.

    A sell covered by a long and a buy covering a short (`position_qty` is signed) close.
    """
    if qty <= 0:
        return ZERO
    closable = max(-position_qty, ZERO) if side == OrderSide.BUY else max(position_qty, ZERO)
    return max(qty - closable, ZERO)


def order_reservation(
    side: str, remaining_qty: Decimal, price: Decimal, position_qty: Decimal
) -> Decimal:
    """Buying power an order needs at `price`: the notional of what it opens (as at
    Alpaca, closing a position needs none)."""
    opening = opening_qty(side, remaining_qty, position_qty)
    return to_money(opening * price) if opening > 0 else ZERO


def order_hold(side: str, qty: Decimal, price: Decimal, position_qty: Decimal) -> Decimal:
    """Buying power an order holds when placed: what it opens, at `price`, rounded up to
    the cent, so that filling all of it at that price (settled in cents) fits."""
    opening = opening_qty(side, qty, position_qty)
    return (opening * price).quantize(MONEY_PLACES, rounding=ROUND_CEILING)


def hold_price(
    side: str, order_type: str, limit_price: Decimal | None, market_price: Decimal
) -> Decimal:
    """The price an order's buying power is held at: a limit buy's limit; a market buy
    the collar above the market; a short sale the higher of its limit and the collar
    (it fills at or above its limit)."""
    collar = to_price(market_price * (1 + MARKET_COLLAR))
    if order_type == OrderType.LIMIT and limit_price is not None:
        return limit_price if side == OrderSide.BUY else max(limit_price, collar)
    return collar


def fill_qty_within_hold(
    side: str,
    qty: Decimal,
    price: Decimal,
    position_qty: Decimal,
    hold_left: Decimal,
    *,
    whole_shares: bool,
) -> Decimal:
    """The most of `qty` that can fill at `price` without the part that opens a position
    costing more than the `hold_left` the order still holds (closing parts are free).

    Settled in cents, the opening part then costs at most `hold_left` too: a notional
    no larger than a whole number of cents never rounds above it.
    """
    closing = qty - opening_qty(side, qty, position_qty)
    step = Decimal("1") if whole_shares else QTY_PLACES
    affordable = (max(hold_left, ZERO) / price).quantize(step, rounding=ROUND_DOWN)
    return min(qty, closing + affordable)


def buying_power(cash: Decimal, short_market_value: Decimal, reserved: Decimal) -> Decimal:
    """Cash not held back by short positions or open orders; never negative."""
    available = cash - abs(short_market_value) * SHORT_HELD_MULTIPLE - reserved
    return max(to_money(available), ZERO.quantize(Decimal("0.01")))
