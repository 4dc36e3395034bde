"""A process without a server (a command) sends what it queued before it exits."""

from typing import Any

from prometheus_client import REGISTRY

from realtime.publisher import Publisher

PUBLISHED = "portfolio_events_published_total"


def test_drain_sends_everything_queued(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    publisher = Publisher()  # its own loop thread, as in a management command
    before = REGISTRY.get_sample_value(PUBLISHED) or 0.0
    for user_id in range(25):
        publisher.publish_control(user_id, {"action": "revoke", "session_key": None})
    assert publisher.drain(timeout=5)
    assert REGISTRY.get_sample_value(PUBLISHED) == before + 25


def test_drain_without_a_loop_has_nothing_to_do() -> None:
    assert Publisher().drain(timeout=0.1)
