"""Positions, orders and fills of a broker account."""

import uuid
from decimal import Decimal

from django.db import models

from trading.enums import (
    OPEN_ORDER_STATUSES,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)
from trading.models.accounts import BrokerAccount
from trading.models.fields import (
    money_field,
    optional_price_field,
    price_field,
    qty_field,
    ratio_field,
)


class Position(models.Model):
    """An open position: positive qty is long, negative is short (Alpaca's convention)."""

    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=16)
    qty = qty_field()
    avg_entry_price = price_field()
    current_price = price_field()
    lastday_price = price_field(help_text="Basis of intraday P&L: last close or today's entry.")
    market_value = money_field()
    cost_basis = money_field()
    unrealized_pl = money_field()
    unrealized_plpc = ratio_field()
    unrealized_intraday_pl = money_field()
    unrealized_intraday_plpc = ratio_field()
    change_today = ratio_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_unique_symbol"),
            models.CheckConstraint(condition=~models.Q(qty=0), name="position_qty_non_zero"),
            models.CheckConstraint(
                condition=models.Q(avg_entry_price__gt=0),
                name="position_avg_entry_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.qty}"

    @property
    def side(self) -> str:
        return PositionSide.LONG if self.qty > 0 else PositionSide.SHORT


class Order(models.Model):
    """An order as we know it; the broker's state reaches it through trade updates."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="orders")
    # Unique per account, as Alpaca's is per Alpaca account (order_unique_client_order_id).
    client_order_id = models.CharField(max_length=48)
    broker_order_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    type = models.CharField(max_length=8, choices=OrderType.choices)
    time_in_force = models.CharField(
        max_length=4, choices=TimeInForce.choices, default=TimeInForce.DAY
    )
    qty = qty_field()
    limit_price = optional_price_field()
    filled_qty = qty_field(default=Decimal("0"))
    filled_avg_price = optional_price_field()
    status = models.CharField(
        max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING_NEW
    )
    reject_reason = models.TextField(
        blank=True, default="", help_text="Why the broker rejected or canceled the order."
    )
    # Buying power the order holds back, fixed when it is placed (at its limit, or at the
    # collar above the market), and how much of it its fills have spent: what it still
    # holds never moves with the price, so orders accepted together never overspend.
    buying_power_hold = money_field()
    buying_power_used = money_field()
    submitted_at = models.DateTimeField()
    filled_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["account", "status"], name="order_account_status")]
        constraints = [
            # The account's idempotency key; another account may use the same one.
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="order_unique_client_order_id"
            ),
            models.CheckConstraint(condition=models.Q(qty__gt=0), name="order_qty_positive"),
            models.CheckConstraint(
                condition=models.Q(filled_qty__gte=0, filled_qty__lte=models.F("qty")),
                name="order_filled_within_qty",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(type=OrderType.LIMIT, limit_price__gt=0)
                    | models.Q(type=OrderType.MARKET, limit_price__isnull=True)
                ),
                name="order_limit_price_matches_type",
            ),
            models.CheckConstraint(
                condition=models.Q(side__in=OrderSide.values), name="order_side_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def buying_power_left(self) -> Decimal:
        """What the order still holds back while it is open."""
        return max(self.buying_power_hold - self.buying_power_used, Decimal("0.00"))


class Fill(models.Model):
    """One execution of an order; `execution_id` makes replays of the same fill harmless."""

    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="fills")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    execution_id = models.CharField(max_length=64, unique=True)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    qty = qty_field()
    price = price_field()
    executed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-executed_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(qty__gt=0), name="fill_qty_positive"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="fill_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} @ {self.price}"
