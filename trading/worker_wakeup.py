"""How an idle order worker waits: for PostgreSQL's NOTIFY of a queued job, or its poll."""

import logging
import threading
import time
from typing import TYPE_CHECKING

from django.db import connections

from trading.work_queue import JOBS_CHANNEL

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

# While blocked on the socket, `wake` (stop, or serve's in-process commit signal) is looked
# at this often. Jobs themselves arrive by NOTIFY at once; this bounds a stop's delay.
WAKE_CHECK_SECONDS = 0.1
# After a failed (re)connect of the listening connection the worker polls for this long
# before trying again, so a database outage costs no connection attempt per poll.
RECONNECT_AFTER_SECONDS = 5.0


class JobWakeup:
    """Waits until a job may be due: a NOTIFY on the jobs channel, `wake`, or the timeout.

    On PostgreSQL a worker keeps one extra connection in autocommit, LISTENing: a job
    queued by any process (a daphne's POST, a cancel, an operator's requeue) starts at
    once instead of at the next poll. The poll stays, for retries whose backoff ran out
    and as the fallback while the listening connection is down. Other databases poll.
    """

    def __init__(self, wake: threading.Event) -> None:
        self._wake = wake
        self._listening = connections["default"].vendor == "postgresql"
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._retry_at = 0.0

    def wait(self, seconds: float) -> None:
        """Return when a job was announced, `wake` is set, or after `seconds`."""
        deadline = time.monotonic() + seconds
        while not self._wake.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn, fresh = self._connection()
            if conn is None:
                self._wake.wait(left)
                break
            if fresh:
                # Jobs queued before the LISTEN were never announced: look now.
                break
            if self._notified(conn, min(left, WAKE_CHECK_SECONDS)):
                break
        self._wake.clear()

    def _notified(self, conn: "psycopg.Connection[tuple[object, ...]]", seconds: float) -> bool:
        import psycopg

        try:
            if not any(True for _ in conn.notifies(timeout=seconds, stop_after=1)):
                return False
            # Every announcement so far is answered by the one claim that follows.
            for _ in conn.notifies(timeout=0):
                pass
        except psycopg.Error as error:
            logger.warning("order worker: lost its LISTEN connection (%s); polling", error)
            self.close()
            self._retry_at = time.monotonic() + RECONNECT_AFTER_SECONDS
            return False
        return True

    def _connection(self) -> "tuple[psycopg.Connection[tuple[object, ...]] | None, bool]":
        """The listening connection and whether it was opened just now (None: poll)."""
        if not self._listening:
            return None, False
        if self._conn is not None and not self._conn.closed:
            return self._conn, False
        if time.monotonic() < self._retry_at:
            return None, False
        import psycopg

        params = connections["default"].get_connection_params()
        try:
            self._conn = psycopg.connect(**params, autocommit=True)
            self._conn.execute(f"LISTEN {JOBS_CHANNEL}")
        except psycopg.Error as error:
            logger.warning("order worker: cannot LISTEN (%s); polling", error)
            self.close()
            self._retry_at = time.monotonic() + RECONNECT_AFTER_SECONDS
            return None, False
        return self._conn, True

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
