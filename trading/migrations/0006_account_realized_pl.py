"""Realized P&L on the account: all-time and today's, locked in by closing fills."""

from decimal import Decimal

from django.db import migrations

import trading.models.fields


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0005_order_buying_power_hold"),
    ]

    operations = [
        migrations.AddField(
            model_name="brokeraccount",
            name="realized_pl",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2,
                default=Decimal("0"),
                help_text="Realized P&L since the account opened.",
                max_digits=15,
            ),
        ),
        migrations.AddField(
            model_name="brokeraccount",
            name="realized_pl_today",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2,
                default=Decimal("0"),
                help_text="Realized P&L of the current trading day.",
                max_digits=15,
            ),
        ),
    ]
