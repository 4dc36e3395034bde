"""App config of the operator tools: long-running trading processes report their stats."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from operations.reporter import reporter_start_on_signal
        from trading import signals

        signals.process_started.connect(reporter_start_on_signal, dispatch_uid="operations.stats")
