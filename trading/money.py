"""Decimal precision rules for money, prices, quantities and ratios."""

from decimal import ROUND_HALF_EVEN, Decimal

MONEY_PLACES = Decimal("0.01")
PRICE_PLACES = Decimal("0.0001")
AVG_PRICE_PLACES = Decimal("0.00000001")
QTY_PLACES = Decimal("0.000001")
RATIO_PLACES = Decimal("0.000001")
ZERO = Decimal("0")

# Significant digits of each column kind. SQLite keeps a decimal column in a double, which
# holds 15 significant digits exactly, so no column is wider: the same value reads back on
# SQLite and on PostgreSQL. Money reaches $9,999,999,999,999.99, prices 9,999,999.99999999,
# quantities 999,999,999.999999.
MONEY_DIGITS = 15
PRICE_DIGITS = 15
QTY_DIGITS = 15
RATIO_DIGITS = 14
# The largest limit price an order may carry: a price column's integer part, 4 decimals.
MAX_LIMIT_PRICE = Decimal("9999999.9999")


def fits_column(value: Decimal, max_digits: int, decimal_places: int) -> bool:
    """Whether a column of this shape holds `value` (rounded to its places) exactly."""
    if not value.is_finite():
        return False
    limit = Decimal(10) ** (max_digits - decimal_places)
    half_unit = Decimal(1).scaleb(-decimal_places) / 2  # what rounds up into the next digit
    return abs(value) < limit - half_unit


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
