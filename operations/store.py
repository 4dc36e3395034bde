"""Where process reports meet: Redis in distributed mode, this process's memory in embedded mode."""

import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

import redis

Report = dict[str, Any]

# One history sample a minute, for an hour of charts.
HISTORY_SAMPLES = 60
HISTORY_SAMPLE_SECONDS = 60


class StatsStore(Protocol):
    def put(self, report: Report) -> None: ...

    def reports(self) -> list[Report]: ...

    def history_claim(self, minute: int) -> bool: ...

    def history_append(self, sample: dict[str, Any]) -> None: ...

    def history(self) -> list[dict[str, Any]]: ...


class RedisStatsStore:
    """Each process's last report under its own key with a TTL, indexed by report time.

    Redis, not the database: reports are written every few seconds by every process and
    are worthless after 30 s, which is what key expiry is for.
    """

    def __init__(self, url: str, *, prefix: str, stale_after_seconds: float) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        # A process that has not reported for this long is gone (stopped, killed, cut off).
        self._stale_after = stale_after_seconds

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def put(self, report: Report) -> None:
        process_id = report["process"]["id"]
        now = time.time()
        pipe = self._redis.pipeline()
        ttl_ms = max(int(self._stale_after * 1000), 1)
        pipe.set(self._key("process", process_id), json.dumps(report), px=ttl_ms)
        pipe.zadd(self._key("processes"), {process_id: now})
        pipe.zremrangebyscore(self._key("processes"), "-inf", now - self._stale_after)
        pipe.execute()

    def reports(self) -> list[Report]:
        since = time.time() - self._stale_after
        ids = cast(list[bytes], self._redis.zrangebyscore(self._key("processes"), since, "+inf"))
        if not ids:
            return []
        raw = cast(
            list[bytes | None], self._redis.mget([self._key("process", i.decode()) for i in ids])
        )
        return [json.loads(item) for item in raw if item is not None]

    def history_claim(self, minute: int) -> bool:
        """True for exactly one process per minute: that one appends the history sample."""
        claimed = self._redis.set(self._key("history-claim", str(minute)), "1", nx=True, ex=300)
        return bool(claimed)

    def history_append(self, sample: dict[str, Any]) -> None:
        pipe = self._redis.pipeline()
        pipe.rpush(self._key("history"), json.dumps(sample))
        pipe.ltrim(self._key("history"), -HISTORY_SAMPLES, -1)
        pipe.execute()

    def history(self) -> list[dict[str, Any]]:
        items = cast(list[bytes], self._redis.lrange(self._key("history"), 0, -1))
        return [json.loads(item) for item in items]


class LocalStatsStore:
    """Embedded mode: one process, so its own report, made fresh on every read."""

    def __init__(self, fresh_report: Callable[[], Report] | None = None) -> None:
        self._fresh_report = fresh_report
        self._last: Report | None = None
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY_SAMPLES)
        self._claimed_minute = -1

    def put(self, report: Report) -> None:
        self._last = report

    def reports(self) -> list[Report]:
        if self._fresh_report is not None:
            return [self._fresh_report()]
        return [self._last] if self._last is not None else []

    def history_claim(self, minute: int) -> bool:
        if minute == self._claimed_minute:
            return False
        self._claimed_minute = minute
        return True

    def history_append(self, sample: dict[str, Any]) -> None:
        self._history.append(sample)

    def history(self) -> list[dict[str, Any]]:
        return list(self._history)
