"""Drop waffle's own flag tables: rollout.Flag replaced them (0002 copied their rows).

Waffle's migrations create `waffle_flag` and its user/group tables even when the model is
swapped; left in place, their foreign keys to auth_user make PostgreSQL refuse to TRUNCATE
the users (Django's flush). django-waffle 5.0 has no later migration touching them.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def drop_tables(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    old_model = apps.get_model("waffle", "Flag")  # type: ignore[misc]  # swapped out today
    if old_model._meta.db_table in schema_editor.connection.introspection.table_names():
        schema_editor.delete_model(old_model)


def create_tables(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schema_editor.create_model(apps.get_model("waffle", "Flag"))  # type: ignore[misc]


class Migration(migrations.Migration):
    dependencies = [
        ("rollout", "0002_flags_from_waffle"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]
    operations = [migrations.RunPython(drop_tables, create_tables)]
