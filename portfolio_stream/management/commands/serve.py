"""Serve everything in one process: daphne plus the order worker, market and position sync."""

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from realtime.publisher import publisher
from trading import signals
from trading.broker.alpaca.wanted import broker_streams_wanted
from trading.services.broker_sync import run_position_sync
from trading.services.market import run_market
from trading.worker import run_worker

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run daphne with the order worker, the simulated market and position sync."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Do not work the queue.")
        parser.add_argument("--no-market", action="store_true", help="No simulated price feed.")
        parser.add_argument(
            "--no-broker-stream", action="store_true", help="No Alpaca trade/market-data streams."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Importing daphne.server installs Twisted's asyncio reactor; it must come first.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from twisted.internet import reactor

        from operations.reporter import reporter_start

        reporter_start("embedded")
        from portfolio_stream.asgi import application

        stop = threading.Event()
        wake = threading.Event()
        loops: list[tuple[str, Callable[[], object]]] = []
        if not options["no_worker"]:
            # A commit in this process wakes the worker at once instead of at its next poll.
            signals.order_job_queued.connect(lambda **_: wake.set(), weak=False)
            loops.append(("order-worker", lambda: run_worker(stop=stop, wake=wake)))
        if not options["no_market"]:
            loops.append(("simulated-market", lambda: run_market(stop=stop)))
            loops.append(("position-sync", lambda: run_position_sync(stop=stop)))
        if not options["no_broker_stream"] and broker_streams_wanted():
            # An Alpaca account is linked or market-data keys are set (checked at start).
            # Imported only then: alpaca-py loads pandas and numpy (about 55 MB).
            from trading.broker.alpaca.host import run_broker_streams

            loops.append(("alpaca-streams", lambda: run_broker_streams(stop=stop)))
        threads = [threading.Thread(target=fn, name=name, daemon=True) for name, fn in loops]

        def start_background() -> None:
            # Events from the worker threads must reach the sockets on this loop.
            publisher.bind_loop(asyncio.get_event_loop())
            for thread in threads:
                thread.start()
            url = f"http://{options['host']}:{options['port']}"
            self.stdout.write(f"Serving on {url}  (background: {', '.join(n for n, _ in loops)})")

        reactor.callWhenRunning(start_background)
        server = Server(
            application=application,
            endpoints=build_endpoint_description_strings(
                host=options["host"], port=options["port"]
            ),
            signal_handlers=True,
            action_logger=None,
            # Our own heartbeat keeps sockets alive; daphne's ping is a backstop for
            # dead TCP peers.
            ping_interval=20,
            ping_timeout=30,
            websocket_timeout=86400,
            application_close_timeout=10,
            verbosity=1 if settings.DEBUG else 0,
        )
        try:
            server.run()
        finally:
            stop.set()
            wake.set()
            for thread in threads:
                thread.join(timeout=10 if thread.name == "alpaca-streams" else 5)
