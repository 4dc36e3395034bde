"""The fail-soft Redis cache: with Redis unreachable, reads miss and writes are skipped."""

from typing import Any

import pytest
from django.core.cache import caches

from rollout.gate import realtime_enabled_for
from tests.factories import make_user
from tests.integration.live_server import free_port

DEAD_REDIS = {
    "BACKEND": "portfolio_stream.cache.FailSoftRedisCache",
    "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
    "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
}


@pytest.fixture
def dead_waffle_cache(settings: Any) -> Any:
    settings.CACHES = {**settings.CACHES, "waffle": DEAD_REDIS}  # Django rebuilds the caches
    return caches["waffle"]


def test_reads_miss_and_writes_are_skipped(dead_waffle_cache: Any) -> None:
    cache = dead_waffle_cache
    assert cache.get("k", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("k", 1) is False
    cache.set("k", 1)
    cache.delete_many(["k"])
    assert cache.delete("k") is False


@pytest.mark.django_db
def test_the_rollout_gate_answers_from_the_database(dead_waffle_cache: Any) -> None:
    assert realtime_enabled_for(make_user("cacheless"))
