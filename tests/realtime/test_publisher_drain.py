"""A process without a server (a command) sends what it queued before it exits."""

import asyncio
import gc
import threading
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


def _pending_senders() -> list[asyncio.Task[Any]]:
    # By type, not isinstance: that would evaluate Django's lazy objects.
    tasks = (obj for obj in gc.get_objects() if type(obj) is asyncio.Task)
    return [t for t in tasks if not t.done() and "_send_forever" in repr(t.get_coro())]


def test_close_ends_the_loop_thread_and_its_sender(settings: Any) -> None:
    # At exit: a sender left pending on a stopped loop is destroyed with an error logged.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    before, senders_before = set(threading.enumerate()), _pending_senders()
    publisher = Publisher()
    publisher.publish_control(1, {"action": "revoke", "session_key": None})
    assert publisher.drain(timeout=5)
    (thread,) = set(threading.enumerate()) - before
    senders = [task for task in _pending_senders() if task not in senders_before]
    assert len(senders) == 1
    publisher.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert all(sender.cancelled() for sender in senders)
