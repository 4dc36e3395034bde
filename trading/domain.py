"""Pure position and P&L arithmetic on Decimals; no database, no side effects."""

from dataclasses import dataclass
from decimal import Decimal

from trading.enums import OrderSide
from trading.money import ZERO, ratio, to_avg_price, to_money, to_qty

# A short position holds back its proceeds plus collateral equal to its value, so its
# proceeds never count as buying power. An open short sale reserves its value (like a
# buy) and, once filled, holds back exactly that much: buying power does not jump.
SHORT_HELD_MULTIPLE = Decimal("2")


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


def order_reservation(
    side: str, remaining_qty: Decimal, price: Decimal, position_qty: Decimal
) -> Decimal:
    """Buying power an open order holds back: a buy or a short sale its notional.

    Only the part that opens or adds to a position counts (as at Alpaca): a sell covered by
    a long and a buy covering a short (`position_qty` is signed) need no buying power.
    """
    if remaining_qty <= 0:
        return ZERO
    if side == OrderSide.BUY:
        long_qty = remaining_qty - max(-position_qty, ZERO)
        return to_money(long_qty * price) if long_qty > 0 else ZERO
    short_qty = remaining_qty - max(position_qty, ZERO)
    if short_qty <= 0:
        return ZERO
    return to_money(short_qty * price)


def buying_power(cash: Decimal, short_market_value: Decimal, reserved: Decimal) -> Decimal:
    """Cash not held back by short positions or open orders; never negative."""
    available = cash - abs(short_market_value) * SHORT_HELD_MULTIPLE - reserved
    return max(to_money(available), ZERO.quantize(Decimal("0.01")))
