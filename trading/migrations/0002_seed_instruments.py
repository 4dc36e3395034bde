"""Seed the simulated market's symbol universe with its starting prices."""

from decimal import Decimal

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from trading.broker.simulated.market import UNIVERSE


def seed(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    instrument = apps.get_model("trading", "Instrument")
    for symbol, name, exchange, price in UNIVERSE:
        instrument.objects.update_or_create(
            symbol=symbol,
            defaults={
                "name": name,
                "exchange": exchange,
                "price": Decimal(price),
                "prev_close": Decimal(price),
            },
        )


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
