"""The broker-stream host: one trade stream per linked Alpaca account, one market-data stream.

It runs on one asyncio loop (`run_broker_stream`, or a thread of the embedded `serve`),
polls the accounts table so that linking, re-linking and unlinking take effect without a
restart, and does all database work in a small thread pool.
"""

import asyncio
import contextlib
import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from trading.broker.alpaca.credentials import AlpacaCredentials
from trading.broker.alpaca.market_data import MarketDataHost
from trading.broker.alpaca.stream import AccountStream
from trading.broker.types import BrokerAuthError
from trading.enums import BrokerProvider
from trading.models import BrokerAccount
from trading.services import broker_account_sync as sync
from trading.services.common import connections_recycle
from trading.services.credentials import alpaca_credentials_get

logger = logging.getLogger(__name__)

ACCOUNTS_POLL_SECONDS = 3.0
DB_THREADS = 4


@dataclass(frozen=True)
class LinkedAccount:
    account_id: int
    fingerprint: str
    credentials: AlpacaCredentials | None
    error: str = ""


def linked_accounts() -> list[LinkedAccount]:
    """Alpaca accounts with keys; unreadable keys are reported on the account."""
    connections_recycle()
    found = []
    for account in BrokerAccount.objects.filter(provider=BrokerProvider.ALPACA).exclude(
        credentials_encrypted=""
    ):
        digest = hashlib.sha256(
            f"{account.credentials_encrypted}|{account.is_live}".encode()
        ).hexdigest()
        try:
            found.append(LinkedAccount(account.pk, digest, alpaca_credentials_get(account=account)))
        except BrokerAuthError as error:
            sync.broker_status_set(
                account_id=account.pk, status=sync.STATUS_ERROR, error=str(error)
            )
            found.append(LinkedAccount(account.pk, digest, None, str(error)))
    return found


class BrokerStreamHost:
    def __init__(self, *, trade_streams: bool = True, market_data: bool = True) -> None:
        self.trade_streams = trade_streams
        self.market_data = market_data
        self.streams: dict[int, AccountStream] = {}
        # Keys that were refused, by account: not tried again until they change.
        self._refused: dict[int, str] = {}
        self._executor = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="broker-db")

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        market = self._market_data_host()
        market_stop = asyncio.Event()
        market_task = loop.create_task(market.run(market_stop)) if market else None
        logger.info(
            "broker streams: trade streams %s, market data %s",
            "on" if self.trade_streams else "off",
            f"on ({settings.ALPACA_DATA_FEED})" if market else "off",
        )
        try:
            while not stop.is_set():
                if self.trade_streams:
                    try:
                        await self.reconcile()
                    except Exception:
                        logger.exception("broker streams: account poll failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), ACCOUNTS_POLL_SECONDS)
        finally:
            market_stop.set()
            for failure in await asyncio.gather(
                *(s.stop() for s in self.streams.values()), return_exceptions=True
            ):
                if isinstance(failure, BaseException):
                    logger.error("a trade stream did not stop cleanly", exc_info=failure)
            self.streams.clear()
            if market_task is not None:
                await market_task
            await asyncio.to_thread(self._shutdown_executor)
            logger.info("broker streams stopped")

    def _shutdown_executor(self) -> None:
        """Close each pool thread's database connection, then the pool."""
        # Blocking every thread on one barrier puts one closing job on each of them.
        barrier = threading.Barrier(DB_THREADS)

        def close_connection() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)
            connections.close_all()

        for future in [self._executor.submit(close_connection) for _ in range(DB_THREADS)]:
            future.result()
        self._executor.shutdown()

    def _market_data_host(self) -> MarketDataHost | None:
        if not (self.market_data and settings.ALPACA_DATA_API_KEY):
            return None
        return MarketDataHost(
            api_key=settings.ALPACA_DATA_API_KEY,
            secret_key=settings.ALPACA_DATA_SECRET_KEY,
            feed=settings.ALPACA_DATA_FEED,
            url_override=settings.ALPACA_DATA_URL or None,
            executor=self._executor,
        )

    async def reconcile(self) -> None:
        """Start, restart or stop account streams to match the linked accounts."""
        linked = await asyncio.get_running_loop().run_in_executor(self._executor, linked_accounts)
        wanted = {a.account_id: (a, a.credentials) for a in linked if a.credentials is not None}
        for account_id, stream in list(self.streams.items()):
            fingerprint = wanted[account_id][0].fingerprint if account_id in wanted else None
            if stream.done or fingerprint != stream.fingerprint:
                del self.streams[account_id]
                await stream.stop()
                if stream.auth_refused:
                    self._refused[account_id] = stream.fingerprint
                reason = "keys refused" if stream.auth_refused else "keys changed or unlinked"
                logger.info("account %s: trade stream stopped (%s)", account_id, reason)
        for account_id, (linked_account, credentials) in wanted.items():
            fingerprint = linked_account.fingerprint
            if account_id in self.streams or self._refused.get(account_id) == fingerprint:
                continue
            stream = AccountStream(
                account_id=account_id,
                credentials=credentials,
                fingerprint=fingerprint,
                executor=self._executor,
                stream_url=settings.ALPACA_STREAM_URL or None,
                trading_url=settings.ALPACA_TRADING_URL or None,
            )
            self.streams[account_id] = stream
            stream.start()
            logger.info("account %s: trade stream started (keys …%s)", account_id, credentials.hint)


def run_broker_streams(
    *, stop: threading.Event, trade_streams: bool = True, market_data: bool = True
) -> None:
    """Run the host on a fresh event loop in this thread until `stop` is set."""

    async def main() -> None:
        done = asyncio.Event()
        loop = asyncio.get_running_loop()

        def watch() -> None:
            stop.wait()
            with contextlib.suppress(RuntimeError):  # the loop is already gone
                loop.call_soon_threadsafe(done.set)

        threading.Thread(target=watch, name="broker-streams-stop", daemon=True).start()
        await BrokerStreamHost(trade_streams=trade_streams, market_data=market_data).run(done)

    asyncio.run(main())
