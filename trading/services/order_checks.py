"""Checks of a new order request: its fields, its instrument and the buying power it needs."""

import re
from decimal import Decimal

from trading.domain import MARKET_COLLAR, hold_price, order_hold
from trading.enums import OrderSide, OrderType
from trading.models import BrokerAccount, Instrument, Order, Position
from trading.money import MAX_LIMIT_PRICE, PRICE_PLACES, QTY_PLACES, ZERO
from trading.services.accounts import open_orders_exposure
from trading.services.common import DomainError
from trading.services.row_reads import row_read

SYMBOL_PATTERN = re.compile(r"^[A-Z][A-Z0-9.]{0,15}$")
MAX_ORDER_QTY = Decimal("1000000")


def order_request_validate(
    account: BrokerAccount,
    symbol: str,
    side: str,
    qty: Decimal,
    order_type: str,
    limit_price: Decimal | None,
) -> Instrument:
    """The order's instrument, or a DomainError naming the field that is wrong."""
    if side not in OrderSide.values:
        raise DomainError("Side must be buy or sell.", field="side")
    if order_type not in OrderType.values:
        raise DomainError("Type must be market or limit.", field="type")
    if qty <= 0:
        raise DomainError("Quantity must be greater than zero.", field="qty")
    if qty > MAX_ORDER_QTY or qty != qty.quantize(QTY_PLACES):
        raise DomainError(
            f"Quantity must be at most {MAX_ORDER_QTY} with at most 6 decimals.",
            field="qty",
        )
    if order_type == OrderType.LIMIT:
        if limit_price is None:
            raise DomainError("A limit order needs a limit price.", field="limit_price")
        if (
            limit_price <= 0
            or limit_price > MAX_LIMIT_PRICE
            or limit_price != limit_price.quantize(PRICE_PLACES)
        ):
            raise DomainError(
                f"Limit price must be positive, at most {MAX_LIMIT_PRICE}, "
                "with at most 4 decimals.",
                field="limit_price",
            )
    elif limit_price is not None:
        raise DomainError("A market order takes no limit price.", field="limit_price")
    instrument = row_read(Instrument, symbol=symbol)
    if not SYMBOL_PATTERN.match(symbol) or instrument is None:
        raise DomainError(f"Unknown symbol {symbol!r}.", field="symbol", code="unknown_symbol")
    if not instrument.tradable or instrument.price is None:
        raise DomainError(f"{symbol} is not tradable right now.", field="symbol")
    return instrument


def _usd(value: Decimal) -> str:
    """$1,234.50, with sub-cent digits only when there are any."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"${value:,.{places}f}"


def buying_power_hold(
    account: BrokerAccount,
    books: tuple[list[Position], list[Order]],
    symbol: str,
    side: str,
    qty: Decimal,
    order_type: str,
    limit_price: Decimal | None,
    market_price: Decimal,
) -> Decimal:
    """What the new order must hold back, refused when the account does not have it."""
    positions, open_orders = books
    held = {position.symbol: position.qty for position in positions}
    _, projected = open_orders_exposure(account, held, open_orders)
    price = hold_price(side, order_type, limit_price, market_price)
    needed = order_hold(side, qty, price, projected.get(symbol, ZERO))
    if needed > account.buying_power:
        basis = ""
        if price != limit_price:
            basis = f" (at {_usd(price)} a share, {MARKET_COLLAR:.0%} above {_usd(market_price)})"
        raise DomainError(
            f"Insufficient buying power: this order needs ${needed:,}{basis} "
            f"and ${account.buying_power:,} is available.",
            field="qty",
            code="insufficient_buying_power",
        )
    return needed
