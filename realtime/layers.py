"""The Redis PubSub channel layer, hardened so one undecodable message cannot kill a socket."""

import logging
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer

from realtime import stats

logger = logging.getLogger(__name__)

UNDECODABLE_MESSAGE_TYPE = "portfolio.undecodable"


class ResilientRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    def deserialize(self, message: bytes) -> dict[str, Any]:
        try:
            result: dict[str, Any] = super().deserialize(message)
        except Exception:
            # Without this the consumer's dispatch loop dies and the socket closes with 1011.
            logger.exception(
                "dropped an undecodable channel-layer message (%d bytes)", len(message)
            )
            stats.record_error("undecodable_message")
            return {"type": UNDECODABLE_MESSAGE_TYPE}
        return result
