"""A WebSocket consumer base that survives channel-layer outages and skips needless DB work."""

import asyncio
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.db import aclose_old_connections
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

logger = logging.getLogger(__name__)

LAYER_FAILED_MESSAGE_TYPE = "portfolio.layer_failed"
LAYER_RETRY_DELAY_SECONDS = 1.0

# Handlers that never touch the database: no connection housekeeping before them.
_DB_FREE_HANDLERS = frozenset({"portfolio_event", "portfolio_control", "portfolio_undecodable"})


class ResilientWebsocketConsumer(AsyncWebsocketConsumer):
    """AsyncWebsocketConsumer whose channel-layer receive failures become a message.

    Channels lets an exception from the layer's receive (Redis down) escape the dispatch
    loop, which kills the socket with an HTTP 500 or close 1011 and logs a crash. Here it
    arrives as `portfolio.layer_failed`, and the consumer decides how to close.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Mirrors channels.consumer.AsyncConsumer.__call__ (4.3) with a guarded receive.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self._layer_failures = 0
        receivers = [receive]
        try:
            self.channel_name = await self.channel_layer.new_channel()
        except Exception as error:
            # The PubSub layer subscribes here, so an outage shows up before connect().
            logger.warning("channel layer unavailable for a new socket: %s", error)
            self.layer_unavailable = True
        else:
            self.layer_unavailable = False
            self.channel_receive = self._receive_from_layer
            receivers.append(self.channel_receive)
        try:
            await await_many_dispatch(receivers, self.dispatch)
        except StopConsumer:
            pass

    async def _receive_from_layer(self) -> dict[str, Any]:
        if self._layer_failures:
            await asyncio.sleep(LAYER_RETRY_DELAY_SECONDS)  # no hot loop while Redis is down
        try:
            message: dict[str, Any] = await self.channel_layer.receive(self.channel_name)
        except (asyncio.CancelledError, StopConsumer):
            raise
        except Exception as error:
            self._layer_failures += 1
            logger.warning("channel layer receive failed: %s", error)
            return {"type": LAYER_FAILED_MESSAGE_TYPE, "error": str(error)}
        self._layer_failures = 0
        return message

    async def dispatch(self, message: dict[str, Any]) -> None:
        name = get_handler_name(message)
        handler = getattr(self, name, None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if name not in _DB_FREE_HANDLERS:
            await aclose_old_connections()
        await handler(message)
