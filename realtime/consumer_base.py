"""A WebSocket consumer whose lifetime is bounded and whose cleanup always runs.

Channels' AsyncConsumer dispatches one message at a time: a client's disconnect waits
behind the handler that is running (a snapshot queued on the one database thread) and
behind `aclose_old_connections()` thread hops, so under a mass disconnect daphne killed
consumers after 10 s, and a killed consumer never ran its disconnect(): counters, the
registry and Redis subscriptions leaked, its sender task was garbage-collected pending.
"""

import asyncio
import logging
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from realtime.layers import LAYER_FAILED_MESSAGE_TYPE, release_consumer

logger = logging.getLogger(__name__)

__all__ = ["LAYER_FAILED_MESSAGE_TYPE", "ResilientWebsocketConsumer"]

LAYER_RETRY_DELAY_SECONDS = 1.0
DISCONNECT_MESSAGE_TYPE = "websocket.disconnect"


class ResilientWebsocketConsumer(AsyncWebsocketConsumer):
    """AsyncWebsocketConsumer with a bounded disconnect and cleanup that always runs.

    - The client's disconnect ends the consumer at once, even while a handler is running
      (that handler is cancelled).
    - `release()` runs in a `finally` around the whole lifetime, however it ends (the
      client went away, daphne cancelled the consumer at shutdown or after its close
      timeout): synchronously, first, so nothing can stop it half-way. Then the layer
      forgets the consumer's channel and groups at once; Redis hears of it in the
      background (realtime.layers).
    - A channel-layer receive that fails (Redis down) arrives as `portfolio.layer_failed`
      instead of killing the dispatch loop with an HTTP 500 or a 1011.
    - A handler that raises gets `on_handler_error()` (the socket closes with 1011).
    - No `aclose_old_connections()` thread hop per message: all database access goes
      through database_sync_to_async, which closes stale connections itself.
    - Layer messages wait while a client frame's handler runs, as in Channels: a
      subscribe's snapshot and the events after it stay in order.
    """

    disconnect_code: int | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self.channel_name: str | None = None
        self.joined_groups: set[str] = set()
        self._layer_failures = 0
        try:
            try:
                self.channel_name = await self.channel_layer.new_channel()
            except Exception as error:
                # The PubSub layer subscribes here, so an outage shows up before connect().
                logger.warning("channel layer unavailable for a new socket: %s", error)
                self.layer_unavailable = True
            else:
                self.layer_unavailable = False
            await self._dispatch_until_disconnect(receive)
        except StopConsumer:
            pass
        finally:
            try:
                self.release()
            except Exception:
                logger.exception("releasing a socket failed")
            if self.channel_name is not None:
                release_consumer(self.channel_layer, self.channel_name, self.joined_groups)

    def release(self) -> None:
        """Synchronous cleanup of the socket's own state; runs exactly once, at the end."""

    async def on_handler_error(self, error: Exception) -> None:
        """A handler raised: close with 1011 (a close before accept is a 403)."""
        await self.close(code=1011)

    # --- Groups: tracked so that release() leaves them however the consumer ends -------------

    async def join(self, group: str) -> None:
        self.joined_groups.add(group)  # first: a cancel during group_add still releases it
        await self.channel_layer.group_add(group, self.channel_name)

    async def leave(self, group: str) -> None:
        self.joined_groups.discard(group)
        await self.channel_layer.group_discard(group, self.channel_name)

    # --- Dispatch ------------------------------------------------------------------------------

    async def _dispatch_until_disconnect(self, receive: Any) -> None:
        inbox: deque[dict[str, Any]] = deque()
        # One message is handled at a time, client frame or layer message, in arrival order.
        self._dispatching = asyncio.Lock()
        client: asyncio.Future[Any] = asyncio.ensure_future(receive())
        reader = asyncio.ensure_future(self._read_layer()) if self.channel_name else None
        handler: asyncio.Future[None] | None = None
        try:
            while True:
                waiting: set[asyncio.Future[Any]] = {client}
                waiting.update(task for task in (handler, reader) if task is not None)
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if reader is not None and reader.done():
                    reader.result()  # StopConsumer (or a bug) ends the consumer
                    reader = None
                if handler is not None and handler.done():
                    handler.result()  # StopConsumer ends the consumer
                    handler = None
                if client.done():
                    message = client.result()
                    if message["type"] == DISCONNECT_MESSAGE_TYPE:
                        self.disconnect_code = message.get("code")
                        return
                    inbox.append(message)
                    client = asyncio.ensure_future(receive())
                if handler is None and inbox:
                    # Client frames run as a task, so that a disconnect can cut them short.
                    handler = asyncio.ensure_future(self._dispatch_in_turn(inbox.popleft()))
        finally:
            # Not awaited: a cancelled layer receive or handler finishes on its own.
            for task in (client, reader, handler):
                if task is not None:
                    task.cancel()

    async def _read_layer(self) -> None:
        """Layer messages, one after another, without a task or a wait() per message: a
        burst already queued for this socket is handled in one go."""
        while True:
            message = await self._receive_from_layer()
            await self._dispatch_in_turn(message)

    async def _dispatch_in_turn(self, message: dict[str, Any]) -> None:
        async with self._dispatching:
            await self._dispatch_guarded(message)

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

    async def _dispatch_guarded(self, message: dict[str, Any]) -> None:
        try:
            await self.dispatch(message)
        except StopConsumer:
            raise
        except Exception as error:
            logger.exception("handling %s failed", message.get("type"))
            await self.on_handler_error(error)

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
