"""PortfolioConsumer: the /ws/portfolio socket. Adapts; decides nothing about trading."""

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.utils import timezone

from realtime import stats
from realtime.coalescing import CoalescingBuffer
from realtime.conf import (
    CHANNELS,
    CLIENT_IDLE_TIMEOUT_SECONDS,
    HEARTBEAT_INTERVAL_SECONDS,
    MAX_INBOUND_FRAMES_PER_SECOND,
    MAX_OUTBOUND_QUEUE_MESSAGES,
    POSITION_BATCH_WINDOW_SECONDS,
    RATE_LIMIT_STRIKES_BEFORE_CLOSE,
    REORDER_WAIT_SECONDS,
    CloseCode,
)
from realtime.consumer_base import ResilientWebsocketConsumer
from realtime.events import (
    ErrorMessage,
    Ping,
    Pong,
    Subscribed,
    SubscribeRequest,
    Unsubscribed,
    UnsubscribeRequest,
    portfolio_event_adapter,
)
from realtime.groups import channel_group, control_group
from realtime.limits import FrameRateLimiter, Verdict
from realtime.protocol import FrameError, parse_client_frame
from realtime.rollout_watch import rollout_watcher
from realtime.sequencing import ChannelSequencer, Frame, frame_range
from realtime.snapshots import account_id_for_user, snapshot_frames
from realtime.tracking import registry
from rollout.gate import realtime_enabled_for

logger = logging.getLogger(__name__)

# Frames whose ts is the time of sending, not of a domain change.
_UNTIMED_FRAMES = frozenset({"ping", "pong", "snapshot", "error", "subscribed", "unsubscribed"})


def _now_utc() -> datetime:
    return timezone.now()


# A queued frame: its JSON text, its type, and the domain change time for latency stats.
Outbound = tuple[str, str, str | None]


class PortfolioConsumer(ResilientWebsocketConsumer):
    """One browser tab's stream of its user's positions, orders and account."""

    user_id: int
    account_id: int | None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake fails with HTTP 403
            return
        self.user_id = user.pk
        self.account_id = None  # until connect() has looked it up (frames may race a close)
        self.socket_id = getattr(self, "channel_name", None) or f"local.{id(self)}"
        self.accepted = False
        session = self.scope.get("session")
        self.session_key = session.session_key if session is not None else None
        self.subscriptions: set[str] = set()
        self.sequencers = {channel: ChannelSequencer() for channel in CHANNELS}
        self.position_batch = CoalescingBuffer()
        self.positions_flushed_at = float("-inf")
        self.position_flush_token = 0
        self.outbound: asyncio.Queue[Outbound] = asyncio.Queue(MAX_OUTBOUND_QUEUE_MESSAGES)
        self.limiter = FrameRateLimiter(
            MAX_INBOUND_FRAMES_PER_SECOND, RATE_LIMIT_STRIKES_BEFORE_CLOSE
        )
        self.tasks: list[asyncio.Task[None]] = []
        self.timers: list[asyncio.TimerHandle] = []
        self.close_code: int | None = None
        self.last_client_frame = asyncio.get_running_loop().time()
        await self.accept()
        self.accepted = True
        stats.record_connected()
        registry.add(self.socket_id, self.user_id, self._rollout_left)
        rollout_watcher.ensure_started()
        self.tasks.append(asyncio.create_task(self._send_forever()))
        if not await database_sync_to_async(realtime_enabled_for)(user):
            await self._close_feature_disabled()
            return
        try:
            if self.layer_unavailable:
                raise ConnectionError("no channel-layer channel for this socket")
            await self.channel_layer.group_add(control_group(self.user_id), self.channel_name)
        except Exception:
            logger.exception("channel layer unavailable at connect")
            await self._close_with_error(
                CloseCode.TRY_AGAIN_LATER, "unavailable", "Live updates are unavailable; retrying."
            )
            return
        self.account_id = await database_sync_to_async(account_id_for_user)(self.user_id)
        self.tasks.append(asyncio.create_task(self._heartbeat_forever()))

    async def disconnect(self, code: int) -> None:
        for task in getattr(self, "tasks", []):
            task.cancel()
        for timer in getattr(self, "timers", []):
            timer.cancel()
        if not hasattr(self, "user_id"):
            return
        groups = [control_group(self.user_id)] + [
            channel_group(self.user_id, c) for c in getattr(self, "subscriptions", ())
        ]
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("group_discard %s failed on disconnect", group)
        registry.remove(self.socket_id)
        stats.record_disconnected(self.close_code or code)

    # --- Inbound ------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        now = asyncio.get_running_loop().time()
        self.last_client_frame = now
        verdict = self.limiter.check(now)
        if verdict is Verdict.CLOSE:
            await self._close_with_error(
                CloseCode.POLICY_VIOLATION, "rate_limited", "Too many frames; closing."
            )
            return
        if verdict is Verdict.DROP:
            return
        if verdict is Verdict.WARN:
            limit = MAX_INBOUND_FRAMES_PER_SECOND
            self._error("rate_limited", f"More than {limit} frames a second; slow down.")
            return
        message = parse_client_frame(text_data, bytes_data)
        if isinstance(message, FrameError):
            logger.info("bad frame from user %s: %s", self.user_id, message.code)
            self._error(message.code, message.message)
        elif isinstance(message, SubscribeRequest):
            await self._subscribe(list(dict.fromkeys(message.channels)))
        elif isinstance(message, UnsubscribeRequest):
            await self._unsubscribe(list(dict.fromkeys(message.channels)))
        elif message.type == "ping":
            self._emit(Pong(ts=_now_utc()).model_dump(mode="json"))
        # A `pong` only proves the client is alive, which last_client_frame recorded.

    async def _subscribe(self, channels: list[str]) -> None:
        if self.account_id is None:
            self._error("no_account", "This user has no brokerage account to stream.")
            return
        for channel in channels:
            # Join first, then read: an event committed in between is either in the
            # snapshot (and dropped by seq) or after it (and delivered). Never lost.
            await self.channel_layer.group_add(
                channel_group(self.user_id, channel), self.channel_name
            )
        try:
            frames = await database_sync_to_async(snapshot_frames)(self.account_id, channels)
        except Exception:
            logger.exception("snapshot failed for user %s", self.user_id)
            for channel in channels:
                if channel not in self.subscriptions:
                    await self.channel_layer.group_discard(
                        channel_group(self.user_id, channel), self.channel_name
                    )
            self._error("snapshot_failed", "Could not load your portfolio; try again shortly.")
            return
        self.subscriptions.update(channels)
        registry.set_subscriptions(self.socket_id, self.subscriptions)
        self._emit(Subscribed(channels=channels).model_dump(mode="json"))
        for frame in frames:
            channel = frame["channel"]
            self.sequencers[channel].reset(frame["seq"])
            if channel == "positions":
                self.position_batch = CoalescingBuffer()
            self._emit(frame)

    async def _unsubscribe(self, channels: list[str]) -> None:
        for channel in channels:
            await self.channel_layer.group_discard(
                channel_group(self.user_id, channel), self.channel_name
            )
            self.subscriptions.discard(channel)
            self.sequencers[channel] = ChannelSequencer()
            if channel == "positions":
                self.position_batch = CoalescingBuffer()
        registry.set_subscriptions(self.socket_id, self.subscriptions)
        self._emit(Unsubscribed(channels=channels).model_dump(mode="json"))

    # --- From the channel layer ---------------------------------------------------------------

    async def portfolio_event(self, message: dict[str, Any]) -> None:
        frame: Frame = message["event"]
        channel = frame.get("channel")
        if channel not in self.subscriptions:
            return
        sequencer = self.sequencers[channel]
        ready = sequencer.offer(frame)
        if sequencer.holding:
            self._later(REORDER_WAIT_SECONDS, self._release_held, channel)
        self._forward(channel, ready, urgent=bool(message.get("urgent")))

    async def portfolio_control(self, message: dict[str, Any]) -> None:
        if message.get("action") != "revoke":
            return
        session_key = message.get("session_key")
        if session_key is None or session_key == self.session_key:
            await self._close_with_error(CloseCode.LOGGED_OUT, "logged_out", "You were logged out.")

    def _rollout_left(self) -> None:
        """The rollout no longer includes this user (kill switch, lower percent): poll instead."""
        if self.close_code is None:
            self.tasks.append(asyncio.create_task(self._close_feature_disabled()))

    async def _close_feature_disabled(self) -> None:
        await self._close_with_error(
            CloseCode.FEATURE_DISABLED, "feature_disabled", "Live updates are off; polling instead."
        )

    async def portfolio_layer_failed(self, message: dict[str, Any]) -> None:
        """The channel layer is down: events cannot reach this socket, so say so and close."""
        if not getattr(self, "accepted", False) or self.close_code is not None:
            return  # connect() is about to notice the outage itself
        await self._close_with_error(
            CloseCode.TRY_AGAIN_LATER, "unavailable", "Live updates are unavailable; retrying."
        )

    async def portfolio_undecodable(self, message: dict[str, Any]) -> None:
        """A message for this socket was lost in transit; the seq gap will show the client."""

    def _release_held(self, channel: str) -> None:
        if channel in self.subscriptions:
            self._forward(channel, self.sequencers[channel].release_all(), urgent=True)

    def _forward(self, channel: str, frames: list[Frame], *, urgent: bool) -> None:
        if channel != "positions":
            for frame in frames:
                self._emit(frame)
            return
        # Positions go out in 1-second windows, newest value per symbol; a change caused by
        # a trade flushes the window at once so a fill never waits.
        was_empty = not self.position_batch
        for frame in frames:
            event = portfolio_event_adapter.validate_python(frame)
            if not self.position_batch.continues(frame_range(frame)[0]):
                # The sequencer gave up on a missing seq: send what came before it on its
                # own, so the client sees the gap instead of a batch that claims to cover it.
                self._flush_positions()
            if event.type == "batch":
                self.position_batch.add_batch(event)
            else:
                self.position_batch.add(event)  # type: ignore[arg-type]
        if urgent:
            self._flush_positions()
        elif was_empty and self.position_batch:
            # A throttle: a quiet socket gets the change at once, a busy one a frame per window.
            loop = asyncio.get_running_loop()
            wait = self.positions_flushed_at + POSITION_BATCH_WINDOW_SECONDS - loop.time()
            if wait <= 0:
                self._flush_positions()
            else:
                self.position_flush_token += 1
                self._later(wait, self._flush_positions_if, self.position_flush_token)

    def _flush_positions_if(self, token: int) -> None:
        """A window's timer: stale if the window was flushed (and maybe reopened) since."""
        if token == self.position_flush_token:
            self._flush_positions()

    def _flush_positions(self) -> None:
        self.position_flush_token += 1
        frame = self.position_batch.drain()
        if frame is not None:
            self.positions_flushed_at = asyncio.get_running_loop().time()
            self._emit(frame.model_dump(mode="json"))

    # --- Outbound -----------------------------------------------------------------------------

    def _later(self, delay: float, callback: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        # Keep only pending timers: fired ones would pile up over a long session.
        self.timers = [t for t in self.timers if not t.cancelled() and t.when() > loop.time()]
        self.timers.append(loop.call_later(delay, callback, *args))

    def _emit(self, frame: Frame) -> None:
        """Queue a frame; a client too far behind is closed rather than buffered without end."""
        if self.close_code is not None:
            return
        try:
            ts = frame.get("ts") if frame["type"] not in _UNTIMED_FRAMES else None
            self.outbound.put_nowait((json.dumps(frame), frame["type"], ts))
        except asyncio.QueueFull:
            logger.warning("user %s socket is too slow; closing with 4008", self.user_id)
            self.close_code = CloseCode.SLOW_CONSUMER
            stats.record_error("slow_consumer")
            asyncio.get_running_loop().create_task(self.close(code=CloseCode.SLOW_CONSUMER))

    def _error(self, code: str, message: str) -> None:
        stats.record_error(code)
        self._emit(ErrorMessage(code=code, message=message).model_dump(mode="json"))

    async def _close_with_error(self, close_code: int, code: str, message: str) -> None:
        self._error(code, message)
        await self._drain_outbound()
        self.close_code = close_code
        await self.close(code=close_code)

    async def _drain_outbound(self) -> None:
        while not self.outbound.empty():
            await self._send_frame(self.outbound.get_nowait())

    async def _send_forever(self) -> None:
        while True:
            await self._send_frame(await self.outbound.get())

    async def _send_frame(self, item: Outbound) -> None:
        text, frame_type, changed_at = item
        await self.send(text_data=text)
        latency = None
        if changed_at is not None:
            moment = datetime.fromisoformat(changed_at.replace("Z", "+00:00"))
            latency = (_now_utc() - moment).total_seconds()
        stats.record_sent(frame_type, latency)

    async def _heartbeat_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + HEARTBEAT_INTERVAL_SECONDS
        while True:
            idle_deadline = self.last_client_frame + CLIENT_IDLE_TIMEOUT_SECONDS
            await asyncio.sleep(max(0.0, min(next_ping, idle_deadline) - loop.time()))
            now = loop.time()
            if now >= self.last_client_frame + CLIENT_IDLE_TIMEOUT_SECONDS:
                await self._close_with_error(
                    CloseCode.HEARTBEAT_TIMEOUT, "heartbeat_timeout", "No frames from the client."
                )
                return
            if now >= next_ping:
                self._emit(Ping(ts=_now_utc()).model_dump(mode="json"))
                next_ping = now + HEARTBEAT_INTERVAL_SECONDS
