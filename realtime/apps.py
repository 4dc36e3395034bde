"""App config of the streaming layer; connects the receivers to trading's domain signals."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"

    def ready(self) -> None:
        from realtime import receivers

        receivers.connect()
