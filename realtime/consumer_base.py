"""A WebSocket consumer whose lifetime is bounded and whose cleanup always runs.

Channels' AsyncConsumer dispatches one message at a time: a client's disconnect waits
behind the handler that is running (a snapshot queued behind the database) and
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

from realtime.conf import CLOSED_CONSUMER_GRACE_SECONDS
from realtime.layers import LAYER_FAILED_MESSAGE_TYPE, attach_consumer, release_consumer

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
      through realtime.db_trips, which closes stale connections itself.
    - Layer messages wait while a client frame's handler runs, as in Channels: a
      subscribe's snapshot and the events after it stay in order.
    - On the Redis layer a message is handed over as it arrives (realtime.layers'
      `attach_consumer`): no reader task and no queue per socket, and a type with a
      synchronous `<handler>_now` method is handled on the spot, without a task.
    - The client's frames are awaited in the application's own task; a task runs their
      handler only while there are frames to handle.
    """

    disconnect_code: int | None = None
    _main: "asyncio.Task[Any] | None" = None
    _ended_by: BaseException | None = None
    _close_deadline: asyncio.TimerHandle | None = None

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
            if self._close_deadline is not None:
                self._close_deadline.cancel()
            try:
                self.release()
            except Exception:
                logger.exception("releasing a socket failed")
            if self.channel_name is not None:
                release_consumer(self.channel_layer, self.channel_name, self.joined_groups)

    def release(self) -> None:
        """Synchronous cleanup of the socket's own state; runs exactly once, at the end."""

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close the socket; if its disconnect never comes, end the consumer anyway.

        daphne answers a close with `websocket.disconnect` once the client answers or the
        close handshake times out. A close sent when the connection was already gone
        (daphne drops it silently) must not keep the consumer, its counters, registry
        entry and subscriptions for ever: CLOSED_CONSUMER_GRACE_SECONDS later it ends.
        """
        await super().close(code=code, reason=reason)
        if self._close_deadline is None and self._main is not None:
            loop = asyncio.get_running_loop()
            self._close_deadline = loop.call_later(
                CLOSED_CONSUMER_GRACE_SECONDS, self._end_without_disconnect
            )

    def _end_without_disconnect(self) -> None:
        if self._main is None or self._main.done() or self._ended_by is not None:
            return
        logger.warning(
            "socket closed %.0fs ago without a disconnect; ending its consumer",
            CLOSED_CONSUMER_GRACE_SECONDS,
        )
        self._ended_by = StopConsumer()
        self._main.cancel()

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
        # One message is handled at a time, client frame or layer message, in arrival order.
        self._dispatching = asyncio.Lock()
        # Made when first needed: an empty deque is 760 bytes, and most sockets never
        # queue a layer message (tests/load/bench_memory.py).
        self._inbox: deque[dict[str, Any]] | None = None
        self._layer_inbox: deque[dict[str, Any]] | None = None
        self._handler: asyncio.Future[None] | None = None
        self._layer_drain: asyncio.Future[None] | None = None
        self._ended_by: BaseException | None = None
        self._running: set[asyncio.Future[None]] = set()
        self._main = asyncio.current_task()
        if self.channel_name and not attach_consumer(
            self.channel_layer, self.channel_name, self._layer_delivered
        ):
            self._watch(asyncio.ensure_future(self._read_layer()))
        try:
            while True:
                try:
                    # Awaited here, in the application's own task: no task per receive.
                    message = await receive()
                except asyncio.CancelledError:
                    if self._ended_by is not None:
                        raise self._ended_by from None  # a handler's StopConsumer (or a bug)
                    raise
                if message["type"] == DISCONNECT_MESSAGE_TYPE:
                    self.disconnect_code = message.get("code")
                    return
                if self._inbox is None:
                    self._inbox = deque()
                self._inbox.append(message)
                if self._handler is None:
                    # Client frames run as a task, so that a disconnect can cut them short.
                    self._handler = self._watch(asyncio.ensure_future(self._drain(layer=False)))
        finally:
            # Not awaited: a cancelled layer receive or handler finishes on its own.
            for task in self._running:
                task.cancel()

    def _watch(self, task: "asyncio.Future[None]") -> "asyncio.Future[None]":
        """Track a task of the dispatch; its end by an exception (StopConsumer included)
        ends the consumer."""
        self._running.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: "asyncio.Future[None]") -> None:
        self._running.discard(task)
        if task.cancelled() or task.exception() is None or self._ended_by is not None:
            return
        self._ended_by = task.exception()
        if self._main is not None:
            self._main.cancel()

    async def _drain(self, *, layer: bool) -> None:
        """Handle the client's frames (or the queued layer messages) until none is left."""
        inbox = self._layer_inbox if layer else self._inbox
        try:
            while inbox:
                await self._dispatch_in_turn(inbox.popleft())
        finally:
            # No await since the last look at the inbox: a message after it starts a new task.
            if layer:
                self._layer_drain = None
            else:
                self._handler = None

    async def _read_layer(self) -> None:
        """Layer messages from a layer that cannot call back (the in-memory one), one after
        another, without a task or a wait() per message."""
        while True:
            message = await self._receive_from_layer()
            await self._dispatch_in_turn(message)

    def _layer_delivered(self, message: dict[str, Any]) -> None:
        """A layer message, handed over by the Redis layer as it arrives (realtime.layers).

        Handled on the spot, without a task, when its type has a synchronous handler
        (`<handler>_now`) and nothing is ahead of it; otherwise queued behind what is.
        """
        if not self._dispatching.locked() and not self._layer_inbox:
            handler = getattr(self, get_handler_name(message) + "_now", None)
            if handler is not None:
                try:
                    handler(message)
                except Exception as error:
                    logger.exception("handling %s failed", message.get("type"))
                    self._handler_failed(error)
                return
        if self._layer_inbox is None:
            self._layer_inbox = deque()
        self._layer_inbox.append(message)
        if self._layer_drain is None:
            self._layer_drain = self._watch(asyncio.ensure_future(self._drain(layer=True)))

    def _handler_failed(self, error: Exception) -> None:
        """A synchronous handler raised: the same as an async one, from a task of its own."""
        self._watch(asyncio.ensure_future(self.on_handler_error(error)))

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
