"""Run the order worker: carry queued submits and cancels to the brokers."""

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from trading import signals
from trading.worker import run_worker


class Command(BaseCommand):
    help = "Work the durable order queue until stopped (SIGTERM/SIGINT finish the current job)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--burst", action="store_true", help="Exit once the queue is empty.")
        parser.add_argument("--worker-id", default=None, help="Name recorded on claimed jobs.")
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=settings.ORDER_WORKER_POLL_INTERVAL_SECONDS,
            help="Seconds between polls of an empty queue.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        signals.process_started.send(sender=Command, role="worker")
        stop = threading.Event()
        wake = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()
            wake.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        processed = run_worker(
            stop=stop,
            wake=wake,
            worker_id=options["worker_id"],
            poll_interval_seconds=options["poll_interval"],
            burst=options["burst"],
        )
        self.stdout.write(f"processed {processed} jobs")
