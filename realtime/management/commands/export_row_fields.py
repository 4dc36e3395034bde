"""Write static/portfolio/js/row_fields.js, the browser's row shapes, from the event schemas."""

from typing import Any

from django.core.management.base import BaseCommand

from realtime.events.row_fields import MODULE_PATH, render_module


class Command(BaseCommand):
    help = "Generate static/portfolio/js/row_fields.js from realtime/events/schemas.py."

    def handle(self, *args: Any, **options: Any) -> None:
        MODULE_PATH.write_text(render_module())
        self.stdout.write(f"wrote {MODULE_PATH}")
