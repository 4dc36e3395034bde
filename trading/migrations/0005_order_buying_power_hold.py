"""Orders hold a fixed amount of buying power from submission; fills spend it."""

from decimal import ROUND_CEILING, Decimal

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

import trading.models.fields

# trading.enums.TERMINAL_ORDER_STATUSES when this migration was written.
TERMINAL = ["filled", "canceled", "expired", "replaced", "rejected", "done_for_day"]
ZERO = Decimal("0")


def hold_open_orders(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Open orders go on holding what they held before: the notional of what they open, at
    their limit or the last price, oldest first against the positions they project."""
    order_model = apps.get_model("trading", "Order")
    prices = dict(apps.get_model("trading", "Instrument").objects.values_list("symbol", "price"))
    projected = {
        (account_id, symbol): qty
        for account_id, symbol, qty in apps.get_model("trading", "Position").objects.values_list(
            "account_id", "symbol", "qty"
        )
    }
    open_orders = order_model.objects.exclude(status__in=TERMINAL).order_by(
        "account_id", "submitted_at", "pk"
    )
    for order in open_orders:
        key = (order.account_id, order.symbol)
        held = projected.get(key, ZERO)
        remaining = order.qty - order.filled_qty
        buy = order.side == "buy"
        opening = max(remaining - max(-held if buy else held, ZERO), ZERO)
        price = order.limit_price or prices.get(order.symbol) or ZERO
        order.buying_power_hold = (opening * price).quantize(
            Decimal("0.01"), rounding=ROUND_CEILING
        )
        order.save(update_fields=["buying_power_hold"])
        projected[key] = held + (remaining if buy else -remaining)


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0004_orderjob_lease_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="buying_power_hold",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="buying_power_used",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AddField(
            model_name="simulatedorder",
            name="buying_power_hold",
            field=trading.models.fields.ExactDecimalField(
                blank=True, decimal_places=2, max_digits=15, null=True
            ),
        ),
        migrations.AddField(
            model_name="simulatedorder",
            name="buying_power_used",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="reject_reason",
            field=models.TextField(
                blank=True, default="", help_text="Why the broker rejected or canceled the order."
            ),
        ),
        migrations.RunPython(hold_open_orders, migrations.RunPython.noop),
    ]
