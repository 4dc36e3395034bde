"""Compare every account's positions with its broker's and correct ours (seed task 1.6)."""

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from trading.services.broker_sync import positions_sync_all, run_position_sync

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Sync positions with the brokers once, or every --interval seconds with --loop."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep syncing periodically.")
        parser.add_argument(
            "--interval", type=float, default=settings.POSITION_SYNC_INTERVAL_SECONDS
        )
        parser.add_argument("--username", default=None, help="Only this user's account.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["loop"]:
            run_position_sync(stop=threading.Event(), interval_seconds=options["interval"])
            return
        for account_id, changed in positions_sync_all(username=options["username"]).items():
            self.stdout.write(f"account {account_id}: {', '.join(changed) or 'in sync'}")
