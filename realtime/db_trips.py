"""The sockets' trips to the database, on a few threads of their own."""

import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def db_trip(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """`func` run on one of REALTIME_DB_THREADS threads, with Channels' connection care
    (database_sync_to_async's: stale or broken connections closed before and after).

    Channels runs every consumer's database work on asgiref's one thread-sensitive thread,
    so in a reconnect storm each socket's reads (its user, its admission, its snapshots)
    wait for every other socket's, one round trip after another. A trip here is a
    self-contained function (its own reads, its own transaction), which needs no thread
    affinity: on PostgreSQL several run at once, each thread on its own pooled connection.
    """
    trip: Callable[P, Coroutine[Any, Any, R]] = DatabaseSyncToAsync(
        func, thread_sensitive=False, executor=_pool()
    )
    return trip


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(
                    max_workers=settings.REALTIME_DB_THREADS, thread_name_prefix="socket-db"
                )
    return _executor
