"""The simulated paper broker's own books: the venue side, kept apart from ours."""

import uuid
from decimal import Decimal

from django.db import models

from trading.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from trading.models.accounts import BrokerAccount
from trading.models.fields import (
    money_field,
    optional_money_field,
    optional_price_field,
    price_field,
    qty_field,
)


class SimulatedOrder(models.Model):
    """An order as the simulated broker holds it."""

    broker_order_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="simulated_orders"
    )
    client_order_id = models.CharField(max_length=48)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    type = models.CharField(max_length=8, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=4, choices=TimeInForce.choices)
    qty = qty_field()
    limit_price = optional_price_field()
    filled_qty = qty_field(default=Decimal("0"))
    filled_avg_price = optional_price_field()
    status = models.CharField(max_length=24, choices=OrderStatus.choices)
    executions = models.PositiveIntegerField(default=0)
    # The buying power the client holds for the order: fills that open a position never
    # spend more (the rest is canceled), as a broker holds buying power. None: no cap.
    buying_power_hold = optional_money_field()
    buying_power_used = money_field()
    submitted_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["submitted_at"]
        constraints = [
            # The broker's guarantee the order queue relies on: one order per client id.
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                name="simorder_unique_client_order_id",
            ),
        ]

    def __str__(self) -> str:
        return f"sim {self.side} {self.qty} {self.symbol} ({self.status})"


class SimulatedPosition(models.Model):
    """The simulated broker's record of a holding, which position sync compares with ours."""

    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="simulated_positions"
    )
    symbol = models.CharField(max_length=16)
    qty = qty_field()
    avg_entry_price = price_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="simposition_unique_symbol"),
        ]

    def __str__(self) -> str:
        return f"sim {self.symbol} {self.qty}"
