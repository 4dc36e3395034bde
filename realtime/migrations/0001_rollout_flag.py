"""Create the realtime_portfolio rollout flag, on for everyone."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

FLAG = "realtime_portfolio"


def create_flag(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    flag_model = apps.get_model("waffle", "Flag")
    flag_model.objects.get_or_create(
        name=FLAG,
        defaults={"everyone": True, "note": "Live /ws/portfolio stream; off means REST polling."},
    )


def delete_flag(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("waffle", "Flag").objects.filter(name=FLAG).delete()


class Migration(migrations.Migration):
    dependencies = [("waffle", "0004_update_everyone_nullbooleanfield")]
    operations = [migrations.RunPython(create_flag, delete_flag)]
