"""Pushes rollout changes to this process's open sockets: users who left the rollout get 4403."""

import asyncio
import logging
from collections.abc import Hashable

from channels.db import database_sync_to_async

from realtime.conf import ROLLOUT_FLAG
from realtime.tracking import ConnectionRegistry, registry
from rollout.gate import enabled_user_ids, flag_get

logger = logging.getLogger(__name__)

# How often the flag is read (from the shared cache): a change reaches sockets within this.
ROLLOUT_POLL_SECONDS = 2.0
# Group membership lives on the user, not the flag: re-check everyone this often anyway.
ROLLOUT_FULL_RECHECK_SECONDS = 30.0


def flag_fingerprint(name: str = ROLLOUT_FLAG) -> Hashable:
    """What decides the flag's answers; equal fingerprints give equal answers to every user."""
    flag = flag_get(name)
    if flag.pk is None:
        return None
    return (
        flag.everyone,
        flag.percent,
        flag.superusers,
        flag.staff,
        flag.authenticated,
        frozenset(flag._get_user_ids()),
        frozenset(flag._get_group_ids()),
    )


class RolloutWatcher:
    """One polling task per event loop (per server process); polling, not a pub/sub message,
    so that a change made any way (command, admin, shell) in any process is seen, and a lost
    message cannot leave a socket streaming after the kill switch."""

    def __init__(self, connections: ConnectionRegistry = registry) -> None:
        self.connections = connections
        self._task: asyncio.Task[None] | None = None

    def ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._watch_forever(), name="rollout-watch")

    async def _watch_forever(self) -> None:
        loop = asyncio.get_running_loop()
        last: Hashable = object()
        last_full = loop.time()
        while True:
            await asyncio.sleep(ROLLOUT_POLL_SECONDS)
            try:
                fingerprint = await database_sync_to_async(flag_fingerprint)()
                due = loop.time() - last_full >= ROLLOUT_FULL_RECHECK_SECONDS
                if fingerprint != last or due:
                    await self.recheck()
                    last, last_full = fingerprint, loop.time()
            except Exception:
                logger.exception("rollout re-check failed; trying again")

    async def recheck(self) -> int:
        """Close the sockets of users outside the rollout now; how many were closed."""
        user_ids = self.connections.user_ids()
        if not user_ids:
            return 0
        enabled = await database_sync_to_async(enabled_user_ids)(user_ids)
        closed = sum(self.connections.rollout_off(uid) for uid in user_ids - enabled)
        if closed:
            logger.info("rollout change: closed %d socket(s) with 4403", closed)
        return closed


rollout_watcher = RolloutWatcher()
