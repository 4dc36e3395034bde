"""Decimal precision rules for money, prices, quantities and ratios."""

from decimal import ROUND_HALF_EVEN, Decimal

MONEY_PLACES = Decimal("0.01")
PRICE_PLACES = Decimal("0.0001")
AVG_PRICE_PLACES = Decimal("0.00000001")
QTY_PLACES = Decimal("0.000001")
RATIO_PLACES = Decimal("0.000001")
ZERO = Decimal("0")


def to_money(value: Decimal) -> Decimal:
    """Round to cents, banker's rounding, as a cash ledger settles."""
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)


def to_price(value: Decimal) -> Decimal:
    return value.quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN)


def to_avg_price(value: Decimal) -> Decimal:
    return value.quantize(AVG_PRICE_PLACES, rounding=ROUND_HALF_EVEN)


def to_qty(value: Decimal) -> Decimal:
    return value.quantize(QTY_PLACES, rounding=ROUND_HALF_EVEN)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator / |denominator| as a fraction (0.0123 is 1.23 %), zero when undefined."""
    if denominator == 0:
        return ZERO
    return (numerator / abs(denominator)).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)
