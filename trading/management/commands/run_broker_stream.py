"""Run the Alpaca streams: a trade stream per linked account and the market-data stream."""

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from trading import signals
from trading.broker.alpaca.host import run_broker_streams


class Command(BaseCommand):
    help = (
        "Stream Alpaca trade updates of every linked account and market data for held "
        "symbols into the trading services, until SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-trade-streams", action="store_true", help="Only the market-data stream."
        )
        parser.add_argument(
            "--no-market-data", action="store_true", help="Only the accounts' trade streams."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        signals.process_started.send(sender=Command, role="broker_stream")
        if "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            self.stderr.write(
                "warning: no REDIS_URL, so events from this process reach no browser socket "
                "(run the streams inside `serve`, or set REDIS_URL)"
            )
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        run_broker_streams(
            stop=stop,
            trade_streams=not options["no_trade_streams"],
            market_data=not options["no_market_data"],
        )
        self.stdout.write("broker streams stopped")
