"""PortfolioConsumer: the /ws/portfolio socket. Adapts; decides nothing about trading.

Each concern lives in its own module; this class wires them to one socket:
- auth and session revocation: realtime.session_scope (the cookie), realtime.session_auth
- the rollout flag: rollout.gate at connect, realtime.rollout_watch afterwards
- subscribe + snapshot: realtime.subscriptions
- reordering by seq: realtime.reordering
- the position throttle: realtime.position_throttle
- backpressure (queue and transport backlog): realtime.outbound
- heartbeat: realtime.heartbeat
- lifetime, dispatch and cleanup: realtime.consumer_base; shutdown: realtime.draining
- statistics: realtime.stats
"""

import asyncio
import logging
from typing import Any

from django.utils import timezone

from realtime import draining, stats
from realtime.conf import (
    CHANNELS,
    CLIENT_IDLE_TIMEOUT_SECONDS,
    CLOSE_FLUSH_TIMEOUT_SECONDS,
    HEARTBEAT_INTERVAL_SECONDS,
    MAX_INBOUND_FRAMES_PER_SECOND,
    MAX_OUTBOUND_QUEUE_MESSAGES,
    MAX_SOCKET_BACKLOG_BYTES,
    POSITION_BATCH_WINDOW_SECONDS,
    RATE_LIMIT_STRIKES_BEFORE_CLOSE,
    REORDER_WAIT_SECONDS,
    CloseCode,
)
from realtime.consumer_base import ResilientWebsocketConsumer
from realtime.daphne_shim import SEND_NOW_EXTENSION, TRANSPORT_BACKLOG_EXTENSION
from realtime.db_trips import db_trip
from realtime.events import (
    ErrorMessage,
    Ping,
    Pong,
    Subscribed,
    SubscribeRequest,
    Unsubscribed,
    UnsubscribeRequest,
)
from realtime.groups import control_group
from realtime.heartbeat import Heartbeat
from realtime.limits import FrameRateLimiter, Verdict
from realtime.outbound import Outbox
from realtime.position_throttle import PositionThrottle
from realtime.protocol import FrameError, parse_client_frame
from realtime.reordering import Reordering
from realtime.rollout_watch import rollout_watcher
from realtime.sequencing import Frame
from realtime.session_auth import (
    SocketSession,
    ends_session,
    read_socket_session,
    session_still_valid,
)
from realtime.session_scope import user_of_session
from realtime.snapshots import account_id_for_user
from realtime.socket_tasks import SocketTasks
from realtime.subscriptions import Subscriptions
from realtime.tracking import registry
from realtime.wire import WireFrame
from rollout.gate import realtime_enabled_for

logger = logging.getLogger(__name__)

RESTART_CLOSE_REASON = "server restarting; reconnect"


def _admission(user: Any, session: Any) -> tuple[bool, SocketSession, bool, int | None]:
    """Blocking, one database trip: whether the rollout includes the user,
    the socket's session, whether it still holds, and the user's brokerage account."""
    enabled = realtime_enabled_for(user)
    socket_session = read_socket_session(user, session)
    valid = session_still_valid(socket_session)
    return enabled, socket_session, valid, account_id_for_user(user.pk)


class PortfolioConsumer(ResilientWebsocketConsumer):
    """One browser tab's stream of its user's positions, orders and account."""

    user_id: int
    # Read in connect(), before any control message can arrive.
    session: SocketSession | None = None
    heartbeat: Heartbeat | None = None
    subscriptions: Subscriptions
    reordering: Reordering
    positions: PositionThrottle
    outbox: Outbox

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tasks = SocketTasks(on_failure=self._task_failed)
        self.account_id: int | None = None
        self.socket_id = f"local.{id(self)}"
        # Set once the socket is accepted and counted: release() undoes exactly that.
        self.counted = False
        # The code this server closed with; None while open.
        self.close_code: int | None = None
        self.last_client_frame = 0.0
        self.limiter = FrameRateLimiter(
            MAX_INBOUND_FRAMES_PER_SECOND, RATE_LIMIT_STRIKES_BEFORE_CLOSE
        )

    # --- Lifetime ------------------------------------------------------------------------------

    async def connect(self) -> None:
        user = await db_trip(user_of_session)(self.scope.get("session"))
        if user is None:
            await self.close()  # before accept: the handshake fails with HTTP 403
            return
        self.user_id = user.pk
        self.socket_id = self.channel_name or self.socket_id
        self.subscriptions = Subscriptions(self.user_id, self.join, self.leave)
        self.reordering = Reordering(
            CHANNELS, REORDER_WAIT_SECONDS, self.tasks.later, self._release_held
        )
        self.positions = PositionThrottle(
            POSITION_BATCH_WINDOW_SECONDS, self._emit, self.tasks.later
        )
        extensions = self.scope.get("extensions", {})
        self.outbox = Outbox(
            self._send_text,
            spawn=self.tasks.spawn,
            max_messages=MAX_OUTBOUND_QUEUE_MESSAGES,
            max_backlog_bytes=MAX_SOCKET_BACKLOG_BYTES,
            backlog=extensions.get(TRANSPORT_BACKLOG_EXTENSION),
            on_overflow=self._too_slow,
            send_now=extensions.get(SEND_NOW_EXTENSION),
        )
        self.last_client_frame = asyncio.get_running_loop().time()
        await self.accept()
        self._opened()
        if draining.is_draining():
            await self._close_for_restart()
            return
        try:
            if self.layer_unavailable:
                raise ConnectionError("no channel-layer channel for this socket")
            await self.join(control_group(self.user_id))
        except Exception as error:
            logger.warning("channel layer unavailable at connect: %r", error)
            if not await db_trip(realtime_enabled_for)(user):
                await self._close_feature_disabled()  # not worth retrying: poll instead
                return
            await self._close_with_error(
                CloseCode.TRY_AGAIN_LATER, "unavailable", "Live updates are unavailable; retrying."
            )
            return
        # One database trip (a reconnect storm queues thousands), after joining
        # the control group: a session that ended before is caught here, a later end
        # arrives as a control message.
        enabled, self.session, valid, self.account_id = await db_trip(_admission)(
            user, self.scope.get("session")
        )
        if not enabled:
            await self._close_feature_disabled()
            return
        if not valid:
            await self._close_with_error(CloseCode.LOGGED_OUT, "logged_out", "You were logged out.")
            return
        if not self.tasks.closed:
            self.heartbeat = Heartbeat(
                interval=HEARTBEAT_INTERVAL_SECONDS,
                idle_timeout=CLIENT_IDLE_TIMEOUT_SECONDS,
                last_heard=lambda: self.last_client_frame,
                ping=lambda: self._emit(Ping(ts=timezone.now()).model_dump(mode="json")),
                on_idle=self._went_idle,
                on_failure=self._task_failed,
            )

    def _went_idle(self) -> None:
        self.tasks.spawn(self._close_idle())

    def _opened(self) -> None:
        """Accepted: counted, registered and sending from now until release()."""
        self.counted = True
        stats.record_connected()
        registry.add(self.socket_id, self.user_id, self._rollout_left)
        draining.register(self.socket_id, self._server_restarting)
        rollout_watcher.ensure_started()

    def release(self) -> None:
        """However the socket ended: counters and registries first, then its tasks."""
        if self.counted:
            self.counted = False
            registry.remove(self.socket_id)
            draining.unregister(self.socket_id)
            stats.record_disconnected(self.close_code or self.disconnect_code)
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.tasks.cancel_all()

    async def on_handler_error(self, error: Exception) -> None:
        if not self.counted:
            await super().on_handler_error(error)
            return
        await self._close_with_error(
            CloseCode.INTERNAL_ERROR, "internal_error", "The server failed; reconnect."
        )

    def _task_failed(self, error: BaseException) -> None:
        """A background task or the heartbeat failed: the socket cannot go on."""
        self.tasks.spawn(
            self._close_with_error(
                CloseCode.INTERNAL_ERROR, "internal_error", "The server failed; reconnect."
            )
        )

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
            self._emit(Pong(ts=timezone.now()).model_dump(mode="json"))
        # A `pong` only proves the client is alive, which last_client_frame recorded.

    async def _subscribe(self, channels: list[str]) -> None:
        if self.account_id is None:
            self._error("no_account", "This user has no brokerage account to stream.")
            return
        frames = await self.subscriptions.subscribe(self.account_id, channels)
        if frames is None:
            self._error("snapshot_failed", "Could not load your portfolio; try again shortly.")
            return
        registry.set_subscriptions(self.socket_id, self.subscriptions.channels)
        self._emit(Subscribed(channels=channels).model_dump(mode="json"))
        for frame in frames:
            channel = frame["channel"]
            self.reordering.start(channel, frame["seq"])
            if channel == "positions":
                self.positions.reset()
            self._emit(frame)

    async def _unsubscribe(self, channels: list[str]) -> None:
        await self.subscriptions.unsubscribe(channels)
        for channel in channels:
            self.reordering.stop(channel)
            if channel == "positions":
                self.positions.reset()
        registry.set_subscriptions(self.socket_id, self.subscriptions.channels)
        self._emit(Unsubscribed(channels=channels).model_dump(mode="json"))

    # --- From the channel layer ---------------------------------------------------------------

    async def portfolio_event(self, message: dict[str, Any]) -> None:
        self.portfolio_event_now(message)

    def portfolio_event_now(self, message: dict[str, Any]) -> None:
        """An event, handled as it arrives (consumer_base): reorder, throttle, send."""
        frame = WireFrame.from_message(message)
        if frame is None:
            logger.error("dropped a malformed event message for user %s", self.user_id)
            stats.record_error("undecodable_message")
            return  # the seq gap shows the client, which resubscribes
        if frame.channel not in self.subscriptions:
            return
        ready = self.reordering.offer(frame.channel, frame)
        self._forward(frame.channel, ready, urgent=bool(message.get("urgent")))

    async def portfolio_control(self, message: dict[str, Any]) -> None:
        """Logout, a deleted session, a new password, a deactivation (session_auth)."""
        if self.session is not None and ends_session(message, self.session):
            await self._close_with_error(CloseCode.LOGGED_OUT, "logged_out", "You were logged out.")

    async def portfolio_layer_failed(self, message: dict[str, Any]) -> None:
        """The channel layer is down: events cannot reach this socket, so say so and close."""
        if not self.counted or self.close_code is not None:
            return  # connect() is about to notice the outage itself
        await self._close_with_error(
            CloseCode.TRY_AGAIN_LATER, "unavailable", "Live updates are unavailable; retrying."
        )

    async def portfolio_undecodable(self, message: dict[str, Any]) -> None:
        self.portfolio_undecodable_now(message)

    def portfolio_undecodable_now(self, message: dict[str, Any]) -> None:
        """A message for this socket was lost in transit; the seq gap will show the client."""

    def _rollout_left(self) -> None:
        """The rollout no longer includes this user (kill switch, lower percent): poll instead."""
        if self.close_code is None:
            self.tasks.spawn(self._close_feature_disabled())

    def _server_restarting(self) -> None:
        """The server is stopping (realtime.draining): reconnect elsewhere."""
        if self.close_code is None:
            self.tasks.spawn(self._close_for_restart())

    def _release_held(self, channel: str, frames: list[WireFrame]) -> None:
        if channel in self.subscriptions:
            self._forward(channel, frames, urgent=True)

    def _forward(self, channel: str, frames: list[WireFrame], *, urgent: bool) -> None:
        if channel == "positions":
            self.positions.add(frames, urgent=urgent)
            return
        for frame in frames:
            self._emit(frame)

    # --- Outbound -----------------------------------------------------------------------------

    def _emit(self, frame: WireFrame | Frame) -> None:
        if self.close_code is None:
            self.outbox.put(frame)

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    def _error(self, code: str, message: str) -> None:
        stats.record_error(code)
        self._emit(ErrorMessage(code=code, message=message).model_dump(mode="json"))

    def _too_slow(self, why: str) -> None:
        """The outbox overflowed (it already dropped what was queued): close with 4008."""
        logger.warning("user %s socket is too slow (%s); closing with 4008", self.user_id, why)
        self.tasks.spawn(
            self._close_with_error(
                CloseCode.SLOW_CONSUMER,
                "slow_consumer",
                "You fell too far behind; reconnect for a fresh snapshot.",
            )
        )

    async def _close_feature_disabled(self) -> None:
        await self._close_with_error(
            CloseCode.FEATURE_DISABLED, "feature_disabled", "Live updates are off; polling instead."
        )

    async def _close_for_restart(self) -> None:
        await self._close_with_error(
            CloseCode.SERVER_RESTART,
            "server_restart",
            "The server is restarting; reconnect in a few seconds.",
            reason=RESTART_CLOSE_REASON,
        )

    async def _close_idle(self) -> None:
        await self._close_with_error(
            CloseCode.HEARTBEAT_TIMEOUT, "heartbeat_timeout", "No frames from the client."
        )

    async def _close_with_error(
        self, close_code: int, code: str, message: str, *, reason: str | None = None
    ) -> None:
        """Send `error` `code` after what is queued, then close with `close_code`; once."""
        if self.close_code is not None:
            return
        self.close_code = close_code
        stats.record_error(code)
        self.outbox.put(
            ErrorMessage(code=code, message=message).model_dump(mode="json"), force=True
        )
        await self.outbox.flush(CLOSE_FLUSH_TIMEOUT_SECONDS)
        await self.close(code=close_code, reason=reason)
