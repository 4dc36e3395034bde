"""The Redis stats store: live processes' reports, a silent one dropped, a point a minute."""

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from operations.store import RedisStatsStore
from tests.operations.reports import report
from tests.realtime.conftest import REDIS_URL

pytestmark = pytest.mark.redis


@pytest.fixture
def store() -> Iterator[RedisStatsStore]:
    prefix = f"test-stats-{uuid.uuid4().hex[:8]}:"
    yield RedisStatsStore(REDIS_URL, prefix=prefix, stale_after_seconds=0.6)
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


def test_reports_of_every_process_until_one_goes_silent(store: RedisStatsStore) -> None:
    store.put(report("a"))
    store.put(report("b"))
    assert sorted(r["process"]["id"] for r in store.reports()) == ["a", "b"]
    time.sleep(0.4)
    store.put(report("a"))  # b stops reporting
    time.sleep(0.35)
    assert [r["process"]["id"] for r in store.reports()] == ["a"]


def test_one_history_point_per_minute_whoever_claims_it(store: RedisStatsStore) -> None:
    assert store.history_claim(100)
    assert not store.history_claim(100)
    store.history_append({"at": "x", "connections": 1})
    assert store.history() == [{"at": "x", "connections": 1}]
    for minute in range(70):
        store.history_append({"at": minute})
    assert len(store.history()) == 60
    assert store.history()[-1] == {"at": 69}
