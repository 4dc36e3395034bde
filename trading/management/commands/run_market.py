"""Run the simulated market: price ticks, mark to market and matching of resting orders."""

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from trading import signals
from trading.services.market import run_market


class Command(BaseCommand):
    help = "Tick the simulated market until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.SIMULATED_TICK_INTERVAL_SECONDS,
            help="Seconds between price ticks.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        signals.process_started.send(sender=Command, role="market")
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        run_market(stop=stop, interval_seconds=options["interval"])
