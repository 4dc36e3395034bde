"""Carry waffle's own flags over to rollout.Flag, and make sure realtime_portfolio exists."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

REALTIME_PORTFOLIO = "realtime_portfolio"
COPIED_FIELDS = (
    "name",
    "everyone",
    "percent",
    "testing",
    "superusers",
    "staff",
    "authenticated",
    "languages",
    "rollout",
    "note",
    "created",
    "modified",
)


def copy_flags(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    new_model = apps.get_model("rollout", "Flag")
    old_model = apps.get_model("waffle", "Flag")  # type: ignore[misc]  # swapped out today
    # Databases made before the swap keep their flags (and whitelists) in waffle_flag.
    for old in old_model.objects.all():
        new, created = new_model.objects.get_or_create(
            name=old.name, defaults={field: getattr(old, field) for field in COPIED_FIELDS}
        )
        if created:
            new.users.set(old.users.all())
            new.groups.set(old.groups.all())
    new_model.objects.get_or_create(
        name=REALTIME_PORTFOLIO,
        defaults={"everyone": True, "note": "Live /ws/portfolio stream; off means REST polling."},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("rollout", "0001_initial"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]
    operations = [migrations.RunPython(copy_flags, migrations.RunPython.noop)]
