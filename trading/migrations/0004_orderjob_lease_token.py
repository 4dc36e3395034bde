"""A lease token per claim of an order job: the fence of every write its run makes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0003_exact_decimal_columns"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderjob",
            name="lease_token",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
    ]
