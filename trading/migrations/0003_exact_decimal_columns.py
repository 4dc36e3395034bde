"""Decimal columns of at most 15 digits, which SQLite's doubles hold exactly; wider values refused."""

from decimal import Decimal

from django.db import migrations

import trading.models.fields


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0002_seed_instruments"),
    ]

    operations = [
        migrations.AlterField(
            model_name="brokeraccount",
            name="buying_power",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="brokeraccount",
            name="cash",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="brokeraccount",
            name="equity",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="brokeraccount",
            name="last_equity",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2,
                default=Decimal("0"),
                help_text="Equity at the start of the trading day.",
                max_digits=15,
            ),
        ),
        migrations.AlterField(
            model_name="brokeraccount",
            name="long_market_value",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="brokeraccount",
            name="short_market_value",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="fill",
            name="price",
            field=trading.models.fields.ExactDecimalField(decimal_places=8, max_digits=15),
        ),
        migrations.AlterField(
            model_name="fill",
            name="qty",
            field=trading.models.fields.ExactDecimalField(decimal_places=6, max_digits=15),
        ),
        migrations.AlterField(
            model_name="instrument",
            name="prev_close",
            field=trading.models.fields.ExactDecimalField(
                blank=True, decimal_places=8, max_digits=15, null=True
            ),
        ),
        migrations.AlterField(
            model_name="instrument",
            name="price",
            field=trading.models.fields.ExactDecimalField(
                blank=True, decimal_places=8, max_digits=15, null=True
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="filled_avg_price",
            field=trading.models.fields.ExactDecimalField(
                blank=True, decimal_places=8, max_digits=15, null=True
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="filled_qty",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=6, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="limit_price",
            field=trading.models.fields.ExactDecimalField(
                blank=True, decimal_places=8, max_digits=15, null=True
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="qty",
            field=trading.models.fields.ExactDecimalField(decimal_places=6, max_digits=15),
        ),
        migrations.AlterField(
            model_name="position",
            name="avg_entry_price",
            field=trading.models.fields.ExactDecimalField(decimal_places=8, max_digits=15),
        ),
        migrations.AlterField(
            model_name="position",
            name="change_today",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=6, default=Decimal("0"), max_digits=14
            ),
        ),
        migrations.AlterField(
            model_name="position",
            name="cost_basis",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="position",
            name="current_price",
            field=trading.models.fields.ExactDecimalField(decimal_places=8, max_digits=15),
        ),
        migrations.AlterField(
            model_name="position",
            name="lastday_price",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=8,
                help_text="Basis of intraday P&L: last close or today's entry.",
                max_digits=15,
            ),
        ),
        migrations.AlterField(
            model_name="position",
            name="market_value",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="position",
            name="qty",
            field=trading.models.fields.ExactDecimalField(decimal_places=6, max_digits=15),
        ),
        migrations.AlterField(
            model_name="position",
            name="unrealized_intraday_pl",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="position",
            name="unrealized_intraday_plpc",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=6, default=Decimal("0"), max_digits=14
            ),
        ),
        migrations.AlterField(
            model_name="position",
            name="unrealized_pl",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=2, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="position",
            name="unrealized_plpc",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=6, default=Decimal("0"), max_digits=14
            ),
        ),
        migrations.AlterField(
            model_name="simulatedorder",
            name="filled_avg_price",
            field=trading.models.fields.ExactDecimalField(
                blank=True, decimal_places=8, max_digits=15, null=True
            ),
        ),
        migrations.AlterField(
            model_name="simulatedorder",
            name="filled_qty",
            field=trading.models.fields.ExactDecimalField(
                decimal_places=6, default=Decimal("0"), max_digits=15
            ),
        ),
        migrations.AlterField(
            model_name="simulatedorder",
            name="limit_price",
            field=trading.models.fields.ExactDecimalField(
                blank=True, decimal_places=8, max_digits=15, null=True
            ),
        ),
        migrations.AlterField(
            model_name="simulatedorder",
            name="qty",
            field=trading.models.fields.ExactDecimalField(decimal_places=6, max_digits=15),
        ),
        migrations.AlterField(
            model_name="simulatedposition",
            name="avg_entry_price",
            field=trading.models.fields.ExactDecimalField(decimal_places=8, max_digits=15),
        ),
        migrations.AlterField(
            model_name="simulatedposition",
            name="qty",
            field=trading.models.fields.ExactDecimalField(decimal_places=6, max_digits=15),
        ),
    ]
