"""App config so the project package can ship management commands."""

from django.apps import AppConfig


class PortfolioStreamConfig(AppConfig):
    name = "portfolio_stream"
    verbose_name = "Portfolio stream"

    def ready(self) -> None:
        from portfolio_stream.lean_imports import rest_framework_without_extras

        # The URL conf's views and the serializers import DRF after every app is ready.
        rest_framework_without_extras()

        from portfolio_stream.heap_freeze import heap_freeze_on_signal
        from trading import signals

        # The worker, market and broker-stream commands say when they are up and imported.
        signals.process_started.connect(heap_freeze_on_signal, dispatch_uid="heap_freeze")
