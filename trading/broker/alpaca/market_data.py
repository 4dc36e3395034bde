"""The deployment's one Alpaca market-data stream: trades of the symbols users hold.

Alpaca allows one data connection per key (and 30 trade channels on the free IEX feed),
so one `StockDataStream` serves every user. It subscribes to the symbols held in Alpaca
accounts, most-held first within the feed's limit, and follows holdings as they change.
Trades are coalesced per symbol (the latest price wins) and applied every
`FLUSH_INTERVAL_SECONDS` through `prices_apply`, which marks positions and signals; the
publisher then coalesces position updates per user.
"""

import asyncio
import contextlib
import logging
from concurrent.futures import Executor
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from alpaca.data.enums import DataFeed
from alpaca.data.live.stock import StockDataStream
from alpaca.data.models import Trade
from django.db.models import Count

from trading import signals
from trading.enums import BrokerProvider
from trading.metrics import MARKET_DATA, StreamConnectionState
from trading.models import Position
from trading.services.common import CAUSE_PRICE, connections_recycle
from trading.services.prices import prices_apply

logger = logging.getLogger(__name__)

SYMBOL_LIMITS: dict[str, int | None] = {"iex": 30, "sip": None}
FLUSH_INTERVAL_SECONDS = 0.25
HOLDINGS_POLL_SECONDS = 2.0
HANDSHAKE_TIMEOUT_SECONDS = 10.0
MAX_AUTH_FAILURES = 2
STOP_TIMEOUT_SECONDS = 6.0


def held_symbols(limit: int | None) -> list[str]:
    """Symbols held in Alpaca accounts, most holders first, at most `limit` of them."""
    rows = (
        Position.objects.filter(account__provider=BrokerProvider.ALPACA)
        .values("symbol")
        .annotate(holders=Count("account", distinct=True))
        .order_by("-holders", "symbol")
    )
    symbols = [str(row["symbol"]) for row in rows]
    if limit is not None and len(symbols) > limit:
        logger.warning(
            "market data: %d held symbols, the feed allows %d; without live prices: %s",
            len(symbols),
            limit,
            ", ".join(symbols[limit:]),
        )
        symbols = symbols[:limit]
    return symbols


def prices_flush(latest: dict[str, tuple[Decimal, datetime]]) -> None:
    """In a pool thread: the latest price of every symbol that traded since the last flush,
    applied together (each holder marked once for all of them)."""
    connections_recycle()
    try:
        prices_apply(prices=latest, provider=BrokerProvider.ALPACA)
    except Exception:
        logger.exception("market data: prices of %s not applied", ", ".join(sorted(latest)))


class AlpacaDataStream(StockDataStream):
    """StockDataStream with a bounded handshake that gives up on refused keys."""

    def __init__(self, api_key: str, secret_key: str, *, feed: str, url_override: str | None):
        super().__init__(
            api_key, secret_key, raw_data=True, feed=DataFeed(feed), url_override=url_override
        )
        self.auth_refused: str | None = None
        self._auth_failures = 0
        self.connection_state = StreamConnectionState(MARKET_DATA)

    async def _start_ws(self) -> None:
        self.connection_state.mark_connecting()
        try:
            await asyncio.wait_for(super()._start_ws(), HANDSHAKE_TIMEOUT_SECONDS)
        except ValueError as error:
            if "auth" in str(error) or "insufficient subscription" in str(error):
                self._auth_failures += 1
                if self._auth_failures >= MAX_AUTH_FAILURES:
                    self.auth_refused = str(error)
                    logger.error(
                        "market data: Alpaca refused ALPACA_DATA_API_KEY (%s); no live prices "
                        "until the keys are fixed and the process restarted",
                        error,
                    )
                    await self.stop_ws()
            raise
        self._auth_failures = 0
        self.connection_state.mark_connected()


class MarketDataHost:
    """Keeps the data stream subscribed to held symbols and turns trades into prices."""

    def __init__(
        self,
        *,
        api_key: str,
        secret_key: str,
        feed: str,
        url_override: str | None,
        executor: Executor,
        symbol_limit: int | None = None,
    ) -> None:
        self._credentials = (api_key, secret_key)
        self._feed = feed
        self._url = url_override or None
        self._executor = executor
        self.symbol_limit = symbol_limit if symbol_limit is not None else SYMBOL_LIMITS[feed]
        self._stream: AlpacaDataStream | None = None
        self._task: asyncio.Task[None] | None = None
        self.subscribed: set[str] = set()
        self.gave_up = False
        self._latest: dict[str, tuple[Decimal, datetime]] = {}
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()

        def on_position_changed(*, position: Any, cause: str, **_: Any) -> None:
            # A new or closed holding (not a price move) should not wait for the next poll.
            if cause != CAUSE_PRICE and (
                position.qty == 0 or position.symbol not in self.subscribed
            ):
                loop.call_soon_threadsafe(self._wake.set)

        signals.position_changed.connect(on_position_changed, weak=False)
        flusher = loop.create_task(self._flush_forever())
        try:
            while not stop.is_set():
                try:
                    wanted = await loop.run_in_executor(self._executor, self._wanted)
                    await self._follow(set(wanted))
                except Exception:
                    logger.exception("market data: subscription update failed; retrying")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HOLDINGS_POLL_SECONDS):
                        await _first(stop.wait(), self._wake.wait())
        finally:
            signals.position_changed.disconnect(on_position_changed)
            await self._stop_stream()
            flusher.cancel()
            await self._flush()

    def _wanted(self) -> list[str]:
        connections_recycle()
        return held_symbols(self.symbol_limit)

    async def _follow(self, wanted: set[str]) -> None:
        """Subscribe and unsubscribe through the public API, from a thread: called on the
        stream's own loop, alpaca-py's subscribe_* deadlocks (it waits on that loop)."""
        if self._stream is not None and self._task is not None and self._task.done():
            # It gave up (keys refused, feed not in the plan): starting it again would not help.
            self.gave_up = True
            await self._stop_stream()
        if self.gave_up:
            return
        if not wanted:
            if self._stream is not None:
                await self._stop_stream()
            return
        if self._stream is None:
            self._stream = AlpacaDataStream(
                *self._credentials, feed=self._feed, url_override=self._url
            )
            self._stream.subscribe_trades(self._on_trade, *sorted(wanted))
            self.subscribed = set(wanted)
            self._task = asyncio.get_running_loop().create_task(self._stream._run_forever())
            logger.info("market data: streaming trades of %s", ", ".join(sorted(wanted)))
            return
        stream = self._stream
        added, removed = wanted - self.subscribed, self.subscribed - wanted
        if added:
            self.subscribed |= added  # the handler is registered even if the send fails
            await asyncio.to_thread(stream.subscribe_trades, self._on_trade, *sorted(added))
        if removed:
            await asyncio.to_thread(stream.unsubscribe_trades, *sorted(removed))
            self.subscribed -= removed
        if added or removed:
            logger.info("market data: now streaming %s", ", ".join(sorted(self.subscribed)))

    async def _stop_stream(self) -> None:
        stream, task = self._stream, self._task
        self._stream, self._task, self.subscribed = None, None, set()
        if stream is None or task is None:
            return
        await stream.stop_ws()
        await stream.close()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            task.cancel()
        except Exception:
            logger.exception("market data stream ended with an error")

    async def _on_trade(self, trade: Trade | dict[Any, Any]) -> None:
        if not isinstance(trade, dict):  # raw_data=True: always the wire dict
            return
        try:
            price = Decimal(str(trade["p"]))
            moment = trade["t"]
            at = moment.to_datetime() if hasattr(moment, "to_datetime") else datetime.now(UTC)
        except (KeyError, InvalidOperation):
            logger.warning("market data: unreadable trade %r", trade)
            return
        if price > 0:
            self._latest[str(trade["S"])] = (price, at)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        if not self._latest:
            return
        latest, self._latest = self._latest, {}
        await asyncio.get_running_loop().run_in_executor(self._executor, prices_flush, latest)


async def _first(*awaitables: Any) -> None:
    """Wait until any of the awaitables is done; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
