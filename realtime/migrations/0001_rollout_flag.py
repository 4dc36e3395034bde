"""Formerly created the rollout flag in waffle_flag; rollout.0002 creates (or copies) it now."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("waffle", "0004_update_everyone_nullbooleanfield")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
