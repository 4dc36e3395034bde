"""Input and output serializers of the REST API; decimals travel as strings, never floats."""

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from trading.enums import OrderSide, OrderType, PositionSide, TimeInForce
from trading.models import BrokerAccount, Fill, Order, Position
from trading.money import MAX_LIMIT_PRICE, PRICE_DIGITS, QTY_DIGITS
from trading.selectors import HISTORY_PERIODS, HISTORY_TIMEFRAMES, ORDER_STATUS_FILTERS
from trading.services.order_checks import MAX_ORDER_QTY

# --- Output -----------------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer[BrokerAccount]):
    """The account's balances and mark-to-market P&L (Alpaca's field meanings)."""

    day_pl = serializers.DecimalField(
        max_digits=20, decimal_places=2, read_only=True, help_text="equity - last_equity."
    )
    day_pl_pct = serializers.DecimalField(
        max_digits=14,
        decimal_places=6,
        read_only=True,
        help_text="day_pl / last_equity as a fraction (0.0123 is 1.23 %).",
    )

    class Meta:
        model = BrokerAccount
        fields = [
            "cash",
            "equity",
            "last_equity",
            "buying_power",
            "long_market_value",
            "short_market_value",
            "day_pl",
            "day_pl_pct",
            "realized_pl",
            "realized_pl_today",
            "provider",
            "is_live",
            "trading_day",
        ]
        read_only_fields = fields


class PositionSerializer(serializers.ModelSerializer[Position]):
    """An open position; qty is signed (negative is short), ratios are fractions."""

    side = serializers.ChoiceField(choices=PositionSide.choices, read_only=True)

    class Meta:
        model = Position
        fields = [
            "symbol",
            "qty",
            "side",
            "avg_entry_price",
            "current_price",
            "market_value",
            "cost_basis",
            "unrealized_pl",
            "unrealized_plpc",
            "unrealized_intraday_pl",
            "unrealized_intraday_plpc",
            "change_today",
            "lastday_price",
        ]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer[Order]):
    """An order and how far the broker has carried it."""

    class Meta:
        model = Order
        fields = [
            "id",
            "client_order_id",
            "symbol",
            "side",
            "type",
            "time_in_force",
            "qty",
            "filled_qty",
            "filled_avg_price",
            "limit_price",
            "status",
            "reject_reason",
            "submitted_at",
            "filled_at",
            "canceled_at",
            "expired_at",
            "failed_at",
            "updated_at",
        ]
        read_only_fields = fields


class FillSerializer(serializers.ModelSerializer[Fill]):
    """One execution of an order."""

    order_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Fill
        fields = ["execution_id", "order_id", "symbol", "side", "qty", "price", "executed_at"]
        read_only_fields = fields


class StreamSeqSerializer(serializers.Serializer[dict[str, int]]):
    """The last seq of each stream channel that the snapshot already contains."""

    positions = serializers.IntegerField(read_only=True)
    orders = serializers.IntegerField(read_only=True)
    account = serializers.IntegerField(read_only=True)


class PortfolioSnapshotSerializer(serializers.Serializer[Any]):
    """Account, positions, open orders and recent fills, consistent with `seq`."""

    account = AccountSerializer(read_only=True)
    positions = PositionSerializer(many=True, read_only=True)
    open_orders = OrderSerializer(many=True, read_only=True)
    recent_fills = FillSerializer(many=True, read_only=True)
    seq = StreamSeqSerializer(read_only=True)
    realtime_enabled = serializers.SerializerMethodField(
        help_text="Whether the live stream (/ws/portfolio) is on for this user; when it "
        "turns true, a polling page opens the socket."
    )

    def get_realtime_enabled(self, snapshot: Any) -> bool:
        # The rollout gate's answer, computed by the caller for the request's user.
        return bool(self.context["realtime_enabled"])


class AccountHistorySerializer(serializers.Serializer[Any]):
    """Intraday equity in the shape of Alpaca's portfolio history; decimals as strings."""

    timestamp = serializers.ListField(
        child=serializers.IntegerField(), help_text="Epoch seconds (UTC), oldest first."
    )
    equity = serializers.ListField(child=serializers.DecimalField(max_digits=15, decimal_places=2))
    profit_loss = serializers.ListField(
        child=serializers.DecimalField(max_digits=15, decimal_places=2),
        help_text="equity - base_value.",
    )
    profit_loss_pct = serializers.ListField(
        child=serializers.DecimalField(max_digits=14, decimal_places=6),
        help_text="profit_loss / base_value as a fraction.",
    )
    base_value = serializers.DecimalField(
        max_digits=15, decimal_places=2, help_text="Equity at the start of the trading day."
    )
    timeframe = serializers.CharField()


# --- Input ------------------------------------------------------------------------------------


class AccountHistoryFilterSerializer(serializers.Serializer[dict[str, str]]):
    """Query parameters of the account history."""

    period = serializers.ChoiceField(
        choices=list(HISTORY_PERIODS),
        default="1D",
        help_text="1D: since the trading day began (New York); 1W: the last seven days.",
    )
    timeframe = serializers.ChoiceField(
        choices=list(HISTORY_TIMEFRAMES), default="1Min", help_text="The spacing of the points."
    )


class OrderListFilterSerializer(serializers.Serializer[dict[str, str]]):
    """Query parameters of the order list."""

    status = serializers.ChoiceField(
        choices=ORDER_STATUS_FILTERS,
        default="open",
        help_text="open (not yet finished), closed (finished) or all.",
    )


# ASCII only: Python's Decimal() also reads "\u0661" (an Arabic-Indic one) and "1e3", and a
# float would round the money on its way in. ECMA's \d (the OpenAPI pattern) is ASCII already.
DECIMAL_STRING = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# Alpaca takes a longer free-text client_order_id; ours also travels in logs, the
# admin and the browser, so it is a printable token: no newlines, no bidi overrides (U+202E).
CLIENT_ORDER_ID_CHARS = re.compile(r"[A-Za-z0-9._:-]+")
CLIENT_ORDER_ID_MAX_LENGTH = 48


class DecimalStringField(serializers.DecimalField):
    """A decimal sent as a JSON string of ASCII digits, an optional "-" and ".": never a number."""

    default_error_messages = {
        "not_a_string": 'Send {name} as a decimal string, e.g. "10" or "2.5", not a JSON number.',
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string", name=self.field_name)
        if not DECIMAL_STRING.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^{CLIENT_ORDER_ID_CHARS.pattern}$",
        "minLength": 1,
        "maxLength": CLIENT_ORDER_ID_MAX_LENGTH,
    }
)
class ClientOrderIdField(serializers.CharField):
    """Letters, digits and `-_.:`, 1 to 48 of them; kept exactly as sent (no trimming)."""

    default_error_messages = {
        "characters": "Use only letters, digits and - _ . : (at most 48).",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=CLIENT_ORDER_ID_MAX_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        # fullmatch: `$` in a validator's search() would let a trailing newline through.
        if not CLIENT_ORDER_ID_CHARS.fullmatch(value):
            self.fail("characters")
        return value


class OrderCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """A new order; the service checks the symbol and the buying power."""

    symbol = serializers.CharField(max_length=16)
    side = serializers.ChoiceField(choices=OrderSide.choices)
    # Bounded like the columns they land in, so a value the database cannot hold is a
    # 400 naming the field, never a 500 (or a silently rounded number on SQLite).
    qty = DecimalStringField(
        max_digits=QTY_DIGITS,
        decimal_places=6,
        max_value=MAX_ORDER_QTY,
        help_text=f'Shares, as a decimal string ("10", "2.5"; a JSON number is refused '
        f"with 400): positive, at most {MAX_ORDER_QTY} with at most 6 decimals, ASCII digits.",
    )
    type = serializers.ChoiceField(choices=OrderType.choices)
    limit_price = DecimalStringField(
        max_digits=PRICE_DIGITS,
        decimal_places=4,
        max_value=MAX_LIMIT_PRICE,
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Required for limit orders, absent for market orders; a decimal string like "
            f"qty, at most {MAX_LIMIT_PRICE} with at most 4 decimals."
        ),
    )
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices, default=TimeInForce.DAY)
    client_order_id = ClientOrderIdField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Your idempotency key, unique within your account: a retry with the same id "
        "and the same fields returns the same order; the same id with other fields is refused "
        "with 422. Letters, digits and - _ . : only.",
    )

    def validate_qty(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Quantity must be greater than zero.")
        return value

    def validate_limit_price(self, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise serializers.ValidationError("Limit price must be greater than zero.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["type"] == OrderType.LIMIT and attrs.get("limit_price") is None:
            raise serializers.ValidationError(
                {"limit_price": ["A limit order needs a limit price."]}
            )
        if attrs["type"] == OrderType.MARKET and attrs.get("limit_price") is not None:
            raise serializers.ValidationError(
                {"limit_price": ["A market order takes no limit price."]}
            )
        return attrs


# --- Errors (schema only) ---------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer[dict[str, str]]):
    """A request-level error."""

    detail = serializers.CharField(read_only=True)


class OrderCreateErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """Field errors of an order (each a list of messages), or a request-level `detail`."""

    symbol = serializers.ListField(child=serializers.CharField(), required=False)
    side = serializers.ListField(child=serializers.CharField(), required=False)
    qty = serializers.ListField(child=serializers.CharField(), required=False)
    type = serializers.ListField(child=serializers.CharField(), required=False)
    limit_price = serializers.ListField(child=serializers.CharField(), required=False)
    time_in_force = serializers.ListField(child=serializers.CharField(), required=False)
    client_order_id = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False)


class AccountHistoryErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """An invalid `period` or `timeframe`."""

    period = serializers.ListField(child=serializers.CharField(), required=False)
    timeframe = serializers.ListField(child=serializers.CharField(), required=False)


class OrderListErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """An invalid `status` filter."""

    status = serializers.ListField(child=serializers.CharField(), required=False)


# --- Built once -------------------------------------------------------------------------------
# DRF builds a serializer's fields anew for every instance (a ModelSerializer from the model's
# metadata), most of the cost of serializing one order or validating one. The order views
# use these instances instead, their fields built on first use; `to_representation` and
# `run_validation` keep nothing on the instance, so request threads share them.
_ORDER_OUTPUT = OrderSerializer()
_ORDER_CREATE_INPUT = OrderCreateSerializer()


def order_representation(order: Order) -> dict[str, Any]:
    """`OrderSerializer(order).data`, with the fields built once."""
    representation: dict[str, Any] = _ORDER_OUTPUT.to_representation(order)
    return representation


def order_create_validated(data: Any) -> dict[str, Any]:
    """`OrderCreateSerializer(data=data)`'s validated data, with the fields built once; an
    invalid request raises the ValidationError `is_valid(raise_exception=True)` raises."""
    try:
        validated: dict[str, Any] = _ORDER_CREATE_INPUT.run_validation(data)
        return validated
    except ValidationError:
        pass
    # The error through a serializer of its own: `is_valid` words some errors its own way
    # (a null body is "No data provided"), and an invalid order may pay for its fields.
    serializer = OrderCreateSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    validated = serializer.validated_data
    return validated
