"""Display filters for money, prices, quantities and ratios; Decimal in, text out, no floats."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

MISSING = "—"
_HUNDRED = Decimal("100")


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def usd(value: object) -> str:
    """-1234.5 -> "-$1,234.50"."""
    amount = _decimal(value)
    if amount is None:
        return MISSING
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@register.filter
def signed_usd(value: object) -> str:
    """P&L with an explicit sign: "+$12.00", "-$3.10", "$0.00"."""
    amount = _decimal(value)
    if amount is None:
        return MISSING
    return f"+{usd(amount)}" if amount > 0 else usd(amount)


@register.filter
def signed_pct(value: object) -> str:
    """A fraction as a signed percentage: 0.012345 -> "+1.23%"."""
    fraction = _decimal(value)
    if fraction is None:
        return MISSING
    percent = fraction * _HUNDRED
    return f"{percent:+,.2f}%" if percent.quantize(Decimal("0.01")) != 0 else "0.00%"


@register.filter
def price(value: object) -> str:
    """Two decimals at least, more only when the price has them: "$200.00", "$10.1234"."""
    amount = _decimal(value)
    if amount is None:
        return MISSING
    exponent = amount.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.{places}f}"


@register.filter
def qty(value: object) -> str:
    """Shares without trailing zeros: "10", "0.5", "-1,250"."""
    amount = _decimal(value)
    if amount is None:
        return MISSING
    exponent = amount.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"{amount:,.{places}f}"


@register.filter
def trend(value: object) -> str:
    """CSS class for the sign of a P&L figure: up, down or flat."""
    amount = _decimal(value)
    if amount is None or amount == 0:
        return "flat"
    return "up" if amount > 0 else "down"
