"""One account's Alpaca `trade_updates` stream, hosted on an asyncio loop.

alpaca-py's `TradingStream.run()` owns its own loop (`asyncio.run`), so it cannot share
ours; we schedule its `_run_forever()` coroutine as a task instead and stop it with
`stop_ws()` + `close()` (never `stop()`, which deadlocks when called from the stream's
loop), cancelling the task as a last resort. A subclass adds what the SDK lacks: a
bounded handshake (it waits forever for the `authenticate` reply), a callback after each
successful (re)connect, and giving up on refused keys (it retries them forever).

The handler only parses and queues: the database work of an account runs in a thread
pool, one job at a time and in arrival order, so a slow commit never stalls the socket
and events and resyncs of one account never interleave.
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from alpaca.trading.stream import TradingStream

from trading.broker.alpaca.credentials import AlpacaCredentials
from trading.broker.alpaca.gateway import AlpacaGateway
from trading.broker.alpaca.mapping import MappingError, trade_update_from_raw
from trading.broker.types import BrokerAuthError, TradeUpdate
from trading.metrics import TRADE_UPDATES, StreamConnectionState
from trading.services import broker_account_sync as sync
from trading.services.common import connections_recycle
from trading.services.fills import FILL_EVENTS

logger = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_SECONDS = 10.0
# Alpaca answers bad keys with "unauthorized" every time; twice rules out a fluke.
MAX_AUTH_FAILURES = 2
STOP_TIMEOUT_SECONDS = 6.0  # the SDK polls its stop flag between 5 s receives
# After fills, re-read the broker's balances once the burst has settled.
SETTLE_DELAY_SECONDS = 0.5
RESYNC_INTERVAL_SECONDS = 300.0
RESYNC_RETRY_SECONDS = 10.0
# The first resync after start looks this far back for orders placed elsewhere.
FIRST_LOOKBACK = timedelta(hours=24)
SINCE_MARGIN = timedelta(seconds=5)


class StreamListener(Protocol):
    def connecting(self) -> None: ...
    def connected(self) -> None: ...
    def auth_failed(self, message: str, final: bool) -> None: ...


class AlpacaTradingStream(TradingStream):
    def __init__(
        self, credentials: AlpacaCredentials, listener: StreamListener, *, url_override: str | None
    ) -> None:
        super().__init__(
            credentials.key_id,
            credentials.secret_key,
            paper=not credentials.live,
            raw_data=True,  # the frame as sent: decimal strings stay exact
            url_override=url_override or None,  # type: ignore[arg-type]
        )
        self._listener = listener
        self._auth_failures = 0

    async def _start_ws(self) -> None:
        self._listener.connecting()
        try:
            await asyncio.wait_for(super()._start_ws(), HANDSHAKE_TIMEOUT_SECONDS)  # type: ignore[no-untyped-call]
        except ValueError as refused:  # "failed to authenticate"
            self._auth_failures += 1
            final = self._auth_failures >= MAX_AUTH_FAILURES
            self._listener.auth_failed(str(refused), final)
            if final:
                await self.stop_ws()  # the SDK would retry these keys forever
            raise
        except TimeoutError:
            logger.warning("%s: no handshake within %ss", self._endpoint, HANDSHAKE_TIMEOUT_SECONDS)
            raise  # the SDK closes the socket and reconnects with backoff
        self._auth_failures = 0
        self._listener.connected()


Job = Callable[[], None]


class AccountStream:
    """The trade stream of one account, its resyncs and its serialized database work."""

    def __init__(
        self,
        *,
        account_id: int,
        credentials: AlpacaCredentials,
        fingerprint: str,
        executor: Executor,
        stream_url: str | None,
        trading_url: str | None,
    ) -> None:
        self.account_id = account_id
        self.fingerprint = fingerprint
        self.auth_refused: str | None = None
        self._executor = executor
        self._gateway = AlpacaGateway(credentials, url_override=trading_url)
        self._stream = AlpacaTradingStream(credentials, self, url_override=stream_url)
        self._stream.subscribe_trade_updates(self._on_trade_update)  # before it runs: no deadlock
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._started_at = datetime.now(UTC)
        self._last_event_at: datetime | None = None
        self._is_connected = False
        self._connection_state = StreamConnectionState(TRADE_UPDATES)
        self._settle_pending = False
        self._positions_suspect = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def done(self) -> bool:
        return bool(self._tasks) and self._tasks[0].done()

    # --- Life cycle (on the host's loop) ---------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._enqueue(lambda: self._status(sync.STATUS_CONNECTING))
        run_forever = self._stream._run_forever()  # type: ignore[no-untyped-call]
        self._tasks = [
            self._loop.create_task(run_forever, name=f"alpaca-trade-{self.account_id}"),
            self._loop.create_task(self._work(), name=f"alpaca-jobs-{self.account_id}"),
        ]
        self._loop.call_later(RESYNC_INTERVAL_SECONDS, self._periodic_resync)

    async def stop(self) -> None:
        """Close the socket, let queued database work finish, and end both tasks."""
        if not self._tasks:
            return
        stream_task, worker_task = self._tasks
        await self._stream.stop_ws()
        await self._stream.close()  # wakes a receive that would otherwise wait up to 5 s
        try:
            await asyncio.wait_for(asyncio.shield(stream_task), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            stream_task.cancel()  # a handshake that never ends ignores stop_ws()
        except Exception:
            logger.exception("trade stream of account %s ended with an error", self.account_id)
        self._connection_state.mark_connecting()
        if self.auth_refused is None:
            self._enqueue(lambda: self._status(sync.STATUS_STOPPED))
        try:
            await asyncio.wait_for(self._jobs.join(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            logger.warning("account %s: database work still queued at stop", self.account_id)
        worker_task.cancel()

    # --- StreamListener (called by the SDK on the loop) -----------------------------------------

    def connecting(self) -> None:
        self._connection_state.mark_connecting()
        if self._is_connected:
            self._is_connected = False
            self._enqueue(lambda: self._status(sync.STATUS_RECONNECTING))

    def connected(self) -> None:
        self._connection_state.mark_connected()
        self._is_connected = True
        logger.info("account %s: trade stream connected; resyncing", self.account_id)
        self._enqueue_resync()

    def auth_failed(self, message: str, final: bool) -> None:
        logger.warning(
            "account %s: Alpaca refused the keys on the stream (%s)", self.account_id, message
        )
        if final:
            self._refuse(
                "Alpaca refused the API keys on the trade stream (failed to authenticate)."
            )

    # --- Events ------------------------------------------------------------------------------

    async def _on_trade_update(self, frame: dict[str, Any]) -> None:
        try:
            update = trade_update_from_raw(frame)
        except MappingError as error:
            logger.error(
                "account %s: unreadable trade update dropped (%s): %r",
                self.account_id,
                error,
                frame,
            )
            return
        if self._last_event_at is None or update.timestamp > self._last_event_at:
            self._last_event_at = update.timestamp
        self._enqueue(lambda: self._apply(update))
        if update.event in FILL_EVENTS and not self._settle_pending:
            self._settle_pending = True
            asyncio.get_running_loop().call_later(SETTLE_DELAY_SECONDS, self._enqueue, self._settle)

    def _enqueue(self, job: Job) -> None:
        self._jobs.put_nowait(job)

    def _since(self) -> datetime:
        """Orders submitted after this are listed by a resync (ours are looked up anyway)."""
        return (self._last_event_at or (self._started_at - FIRST_LOOKBACK)) - SINCE_MARGIN

    def _enqueue_resync(self) -> None:
        since = self._since()
        self._enqueue(lambda: self._resync(since))

    def _periodic_resync(self) -> None:
        """Events can be lost even on a healthy socket: compare with REST now and then."""
        if self.done or self.auth_refused:
            return
        if self._is_connected:
            self._enqueue_resync()
        if self._loop is not None:
            self._loop.call_later(RESYNC_INTERVAL_SECONDS, self._periodic_resync)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = await self._jobs.get()
            try:
                await loop.run_in_executor(self._executor, self._run_job, job)
            finally:
                self._jobs.task_done()

    def _run_job(self, job: Job) -> None:
        """In a pool thread: one job, never letting an error reach the stream."""
        try:
            connections_recycle()
            job()
        except BrokerAuthError as error:
            self._refuse(str(error))
        except Exception:
            logger.exception("account %s: broker job failed; the stream goes on", self.account_id)

    # --- Jobs (in a pool thread, one at a time per account) -------------------------------------

    def _status(self, status: str, error: str = "") -> None:
        sync.broker_status_set(account_id=self.account_id, status=status, error=error)

    def _apply(self, update: TradeUpdate) -> None:
        sync.broker_trade_update_apply(account_id=self.account_id, update=update)
        if update.event in FILL_EVENTS and update.position_qty is not None:
            ours = sync.position_qty_get(account_id=self.account_id, symbol=update.order.symbol)
            if ours != update.position_qty:
                logger.warning(
                    "account %s: %s position is %s here, %s at Alpaca; will sync",
                    self.account_id,
                    update.order.symbol,
                    ours,
                    update.position_qty,
                )
                self._positions_suspect = True

    def _settle(self) -> None:
        """After a burst of fills: Alpaca's cash, or a full resync if a position looked off."""
        self._settle_pending = False
        if self._positions_suspect:
            self._positions_suspect = False
            self._resync(self._since())
            return
        sync.broker_balances_settle(
            account_id=self.account_id, gateway=self._gateway, since=self._since()
        )

    def _resync(self, since: datetime) -> None:
        try:
            sync.broker_account_resync(
                account_id=self.account_id, gateway=self._gateway, since=since
            )
        except BrokerAuthError:
            raise
        except Exception as error:
            logger.warning("account %s: resync failed (%s); retrying", self.account_id, error)
            self._status(sync.STATUS_ERROR, f"Resync with Alpaca failed: {error}")
            if self._loop is not None:
                self._loop.call_soon_threadsafe(
                    self._loop.call_later, RESYNC_RETRY_SECONDS, self._retry_resync
                )
            return
        self._status(sync.STATUS_CONNECTED)

    def _retry_resync(self) -> None:
        if self._is_connected and not self.done:
            self._enqueue_resync()

    def _refuse(self, message: str) -> None:
        """The keys are wrong: say so where operators look, and stop trying."""
        if self.auth_refused is not None:
            return
        self.auth_refused = message
        logger.error(
            "account %s: %s Stopping its stream until the keys are linked again.",
            self.account_id,
            message,
        )
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(
            self._enqueue, lambda: self._status(sync.STATUS_AUTH_FAILED, message)
        )
        loop.call_soon_threadsafe(lambda: loop.create_task(self._stream.stop_ws()))
