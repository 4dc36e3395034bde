"""client_order_id is unique per account, not across the whole book (as Alpaca's is per
Alpaca account): another trader's key is none of this trader's business."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0007_equity_history"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="client_order_id",
            field=models.CharField(max_length=48),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                fields=("account", "client_order_id"), name="order_unique_client_order_id"
            ),
        ),
    ]
