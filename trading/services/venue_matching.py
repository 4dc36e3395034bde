"""A new price worked against the simulated venue's resting orders, booked by the fill path."""

from decimal import Decimal

from trading.broker.simulated.venue import match_symbol
from trading.services.common import accounts_lock
from trading.services.fills import trade_update_apply
from trading.services.gateways import simulated_max_fill_qty


def venue_match(symbol: str, price: Decimal, *, max_fill_qty: Decimal | None = None) -> int:
    """Fill the symbol's marketable resting orders at `price`; returns the executions.

    The one way the app matches: the fill path books each execution, and the holders'
    accounts are locked in id order first (match_symbol's accounts_lock), so the market's
    tick and an operator's nudge never deadlock on two accounts.
    """
    limit = simulated_max_fill_qty() if max_fill_qty is None else max_fill_qty
    return match_symbol(symbol, price, trade_update_apply, limit, accounts_lock=accounts_lock)
