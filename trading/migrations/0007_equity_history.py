"""Intraday equity history (one point per account per minute)."""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

import trading.models.fields


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0006_account_realized_pl"),
    ]

    operations = [
        migrations.CreateModel(
            name="EquityPoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField()),
                (
                    "equity",
                    trading.models.fields.ExactDecimalField(
                        decimal_places=2, default=Decimal("0"), max_digits=15
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="equity_points",
                        to="trading.brokeraccount",
                    ),
                ),
            ],
            options={
                "ordering": ["at"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "at"), name="equitypoint_one_per_minute"
                    )
                ],
            },
        ),
    ]
