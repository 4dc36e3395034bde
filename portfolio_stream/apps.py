"""App config so the project package can ship management commands."""

from django.apps import AppConfig


class PortfolioStreamConfig(AppConfig):
    name = "portfolio_stream"
    verbose_name = "Portfolio stream"
