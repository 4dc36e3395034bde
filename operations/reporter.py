"""Each long-running process reports its metrics every few seconds into the shared stats store."""

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

from operations.sampling import WindowTracker, registry_samples
from operations.store import LocalStatsStore, RedisStatsStore, Report, StatsStore

logger = logging.getLogger(__name__)

# The trailing windows reported: a minute for the history charts, five for the stats.
WINDOWS_SECONDS = (60.0, 300.0)


@dataclass(frozen=True)
class ProcessIdentity:
    id: str
    role: str
    host: str
    pid: int
    started_at: float


class Reporter:
    """Samples the Prometheus registry, keeps the trailing windows, and writes a report."""

    def __init__(self, role: str, store: StatsStore | None = None) -> None:
        pid = os.getpid()
        host = socket.gethostname()
        self.identity = ProcessIdentity(
            id=f"{host}:{pid}:{uuid.uuid4().hex[:6]}",
            role=role,
            host=host,
            pid=pid,
            started_at=time.time(),
        )
        self.store: StatsStore = store if store is not None else store_for_settings(self)
        self._tracker = WindowTracker(WINDOWS_SECONDS)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.report()  # the first copy of the counters: windows start here

    def report(self) -> Report:
        """This process's report as of now (also advances the trailing windows)."""
        with self._lock:
            now = time.time()
            totals = registry_samples()
            windows = self._tracker.observe(now, totals)
        return {
            "process": {**asdict(self.identity), "reported_at": now},
            "totals": totals,
            "windows": windows,
        }

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stats-reporter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(settings.STATS_REPORT_INTERVAL_SECONDS):
            try:
                self.report_once()
            except Exception as error:  # Redis down: the stats go stale, nothing else breaks
                logger.warning("stats report failed: %s", error)

    def report_once(self) -> None:
        from operations.aggregate import history_sample

        self.store.put(self.report())
        minute = int(time.time() // 60)
        if self.store.history_claim(minute):
            self.store.history_append(history_sample(self.store.reports(), at=minute * 60))


_redis_stores: dict[tuple[str, str, float], RedisStatsStore] = {}


def redis_store() -> RedisStatsStore:
    """One client (and connection pool) per configuration, shared by the threads."""
    key = (settings.REDIS_URL, settings.STATS_REDIS_PREFIX, settings.STATS_PROCESS_TIMEOUT_SECONDS)
    if key not in _redis_stores:
        _redis_stores[key] = RedisStatsStore(key[0], prefix=key[1], stale_after_seconds=key[2])
    return _redis_stores[key]


def store_for_settings(reporter: Reporter | None = None) -> StatsStore:
    """Redis when the deployment has one; else this process's memory (embedded mode)."""
    if settings.REDIS_URL:
        return redis_store()
    return LocalStatsStore(reporter.report if reporter is not None else None)


_reporter: Reporter | None = None
_reporter_lock = threading.Lock()


def reporter_start(role: str) -> Reporter:
    """Start this process's reporter once; a later call (another role, same process) reuses it."""
    global _reporter
    with _reporter_lock:
        if _reporter is None:
            _reporter = Reporter(role)
            _reporter.start()
            logger.info("stats reporter started: %s (%s)", _reporter.identity.id, role)
        return _reporter


def reporter_get() -> Reporter | None:
    return _reporter


def stats_store() -> StatsStore:
    """The store the stats endpoint reads: Redis, or this process's own reporter's."""
    if settings.REDIS_URL:
        return redis_store()
    reporter = _reporter
    if reporter is None:
        reporter = reporter_start("web")
    return reporter.store


def reporter_start_on_signal(*, role: str, **_: Any) -> None:
    """trading.signals.process_started: a worker, market or broker-stream process is up."""
    reporter_start(role)
