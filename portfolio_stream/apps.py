"""App config so the project package can ship management commands."""

from django.apps import AppConfig


class PortfolioStreamConfig(AppConfig):
    name = "portfolio_stream"
    verbose_name = "Portfolio stream"

    def ready(self) -> None:
        from portfolio_stream.lean_imports import rest_framework_without_extras

        # The URL conf's views and the serializers import DRF after every app is ready.
        rest_framework_without_extras()
