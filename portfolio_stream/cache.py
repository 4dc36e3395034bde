"""A Redis cache that degrades to "no cache" while Redis is unreachable, instead of failing."""

import logging
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
# One warning per this many seconds while Redis stays down, not one per request.
WARN_EVERY_SECONDS = 10.0


class FailSoftRedisCache(RedisCache):
    """Reads miss and writes are skipped while Redis is down; callers fall back to the database.

    For caches of data whose source of truth is elsewhere (waffle's flags live in the
    database): the page, REST and the socket's rollout gate keep answering through a Redis
    outage. A write skipped during the outage cannot leave a stale value behind, because
    waffle's cache entries expire (TIMEOUT) and Redis restarted empty holds none.
    """

    _warned_at = 0.0

    def _unreachable(self, operation: str, error: Exception) -> None:
        now = time.monotonic()
        if now - FailSoftRedisCache._warned_at >= WARN_EVERY_SECONDS:
            FailSoftRedisCache._warned_at = now
            logger.warning("cache %s skipped, Redis unreachable: %s", operation, error)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except _UNREACHABLE as error:
            self._unreachable("get", error)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        try:
            return super().get_many(keys, version)
        except _UNREACHABLE as error:
            self._unreachable("get_many", error)
            return {}

    def add(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except _UNREACHABLE as error:
            self._unreachable("add", error)
            return False

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except _UNREACHABLE as error:
            self._unreachable("set", error)

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except _UNREACHABLE as error:
            self._unreachable("delete", error)
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except _UNREACHABLE as error:
            self._unreachable("delete_many", error)
