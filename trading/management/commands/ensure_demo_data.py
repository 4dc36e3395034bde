"""Create the demo trader and admin (embedded/DEBUG mode only) and print their logins."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trading.services.demo import demo_data_ensure


class Command(BaseCommand):
    help = "Ensure users demo/demo (simulated account with holdings) and admin/admin in DEBUG."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to create demo users with DJANGO_DEBUG off.")
        for login in demo_data_ensure():
            state = "created" if login.created else "exists"
            self.stdout.write(f"  {login.username} / {login.password}  ({login.role}; {state})")
