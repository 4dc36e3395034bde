"""Alpaca's raw JSON (decimal strings, RFC-3339 times) to the broker-neutral types, exactly."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from trading.broker.types import BrokerOrder, BrokerPosition, TradeUpdate

ZERO = Decimal("0")


class MappingError(ValueError):
    """A payload from Alpaca lacks a field we need or carries one we cannot read."""


@dataclass(frozen=True)
class AccountBalances:
    """The balances of `GET /v2/account` that we mirror."""

    cash: Decimal
    equity: Decimal
    last_equity: Decimal
    buying_power: Decimal
    long_market_value: Decimal
    short_market_value: Decimal
    status: str


def to_decimal(value: Any) -> Decimal | None:
    """A decimal string (or number) as an exact Decimal; None and "" stay None."""
    if value is None or value == "":
        return None
    try:
        # str() first: a JSON float becomes its shortest repr, never its binary expansion.
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"not a decimal: {value!r}") from None


def to_datetime(value: Any) -> datetime:
    """An RFC-3339 time (nanoseconds are truncated to microseconds) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise MappingError(f"not an RFC-3339 time: {value!r}") from None
    else:
        raise MappingError(f"not a time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Alpaca's times are UTC
    return parsed.astimezone(UTC)


def _required(raw: Mapping[str, Any], key: str) -> Any:
    value = raw.get(key)
    if value is None or value == "":
        raise MappingError(f"{key} is missing")
    return value


def _decimal(raw: Mapping[str, Any], key: str, default: Decimal = ZERO) -> Decimal:
    value = to_decimal(raw.get(key))
    return default if value is None else value


def _required_decimal(raw: Mapping[str, Any], key: str) -> Decimal:
    value = to_decimal(_required(raw, key))
    if value is None:
        raise MappingError(f"{key} is missing")
    return value


def broker_order_from_raw(raw: Mapping[str, Any]) -> BrokerOrder:
    """An order object of the REST API or of a `trade_updates` event."""
    submitted = raw.get("submitted_at") or _required(raw, "created_at")
    return BrokerOrder(
        broker_order_id=str(_required(raw, "id")),
        client_order_id=str(_required(raw, "client_order_id")),
        symbol=str(raw.get("symbol") or ""),
        side=str(raw.get("side") or ""),
        type=str(raw.get("type") or raw.get("order_type") or ""),
        time_in_force=str(raw.get("time_in_force") or ""),
        # A notional order has no qty until it fills; the caller decides what to do with 0.
        qty=_decimal(raw, "qty"),
        limit_price=to_decimal(raw.get("limit_price")),
        filled_qty=_decimal(raw, "filled_qty"),
        filled_avg_price=to_decimal(raw.get("filled_avg_price")),
        status=str(_required(raw, "status")),
        submitted_at=to_datetime(submitted),
        updated_at=to_datetime(raw.get("updated_at") or submitted),
    )


def broker_position_from_raw(raw: Mapping[str, Any]) -> BrokerPosition:
    """A position; Alpaca's qty is already signed (negative for a short)."""
    qty = _required_decimal(raw, "qty")
    avg = _required_decimal(raw, "avg_entry_price")
    if str(raw.get("side") or "") == "short" and qty > 0:
        qty = -qty  # be lenient with payloads that send the size unsigned
    return BrokerPosition(symbol=str(_required(raw, "symbol")), qty=qty, avg_entry_price=avg)


def balances_from_raw(raw: Mapping[str, Any]) -> AccountBalances:
    return AccountBalances(
        cash=_decimal(raw, "cash"),
        equity=_decimal(raw, "equity"),
        last_equity=_decimal(raw, "last_equity"),
        buying_power=_decimal(raw, "buying_power"),
        long_market_value=_decimal(raw, "long_market_value"),
        short_market_value=_decimal(raw, "short_market_value"),
        status=str(raw.get("status") or ""),
    )


def trade_update_from_raw(frame: Mapping[str, Any]) -> TradeUpdate:
    """A `trade_updates` frame (the whole `{"stream", "data"}` dict, or just its `data`)."""
    data = frame.get("data", frame) if frame.get("stream") else frame
    if not isinstance(data, Mapping):
        raise MappingError("the trade update has no data object")
    order = data.get("order")
    if not isinstance(order, Mapping):
        raise MappingError("the trade update has no order")
    execution_id = data.get("execution_id")
    return TradeUpdate(
        event=str(_required(data, "event")),
        order=broker_order_from_raw(order),
        timestamp=to_datetime(_required(data, "timestamp")),
        execution_id=str(execution_id) if execution_id else None,
        price=to_decimal(data.get("price")),
        qty=to_decimal(data.get("qty")),
        position_qty=to_decimal(data.get("position_qty")),
    )
