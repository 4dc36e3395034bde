"""Which channels a socket streams: each joined before its snapshot is read.

Join first, then read (Zulip's register-then-fetch): an event committed in between is
either in the snapshot (and dropped by seq) or after it (and delivered). Never lost.
"""

import logging
from collections.abc import Awaitable, Callable

from realtime.db_trips import db_trip
from realtime.groups import channel_group
from realtime.sequencing import Frame
from realtime.snapshots import snapshot_frames

logger = logging.getLogger(__name__)


class Subscriptions:
    def __init__(
        self,
        user_id: int,
        join: Callable[[str], Awaitable[None]],
        leave: Callable[[str], Awaitable[None]],
    ) -> None:
        self.user_id = user_id
        self._join = join
        self._leave = leave
        self.channels: set[str] = set()

    def __contains__(self, channel: object) -> bool:
        return channel in self.channels

    async def subscribe(self, account_id: int, channels: list[str]) -> list[Frame] | None:
        """The channels' snapshots, or None if they could not be read (nothing was joined)."""
        for channel in channels:
            await self._join(channel_group(self.user_id, channel))
        try:
            frames: list[Frame] = await db_trip(snapshot_frames)(account_id, channels)
        except Exception:
            logger.exception("snapshot failed for user %s", self.user_id)
            for channel in channels:
                if channel not in self.channels:
                    await self._leave(channel_group(self.user_id, channel))
            return None
        self.channels.update(channels)
        return frames

    async def unsubscribe(self, channels: list[str]) -> None:
        for channel in channels:
            await self._leave(channel_group(self.user_id, channel))
            self.channels.discard(channel)
