"""FakeAlpaca: the local Alpaca the unmodified alpaca-py talks to, and the knobs tests turn.

    fake = FakeAlpaca().start()
    fake.add_account("KEY", "SECRET", cash="100000")
    TradingClient("KEY", "SECRET", url_override=fake.rest_url)
    TradingStream("KEY", "SECRET", url_override=fake.stream_url)
    StockDataStream("KEY", "SECRET", url_override=fake.data_url)

REST runs on a threaded http.server, both WebSockets on one `websockets` server with its
own event loop in a background thread; every control is safe to call from any thread.
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

from tests.fake_alpaca.broker import FakeAccount, FakeBroker
from tests.fake_alpaca.rest import Injected, RestControls, RestServer
from tests.fake_alpaca.streams import StreamServer

T = TypeVar("T")


class FakeAlpaca:
    def __init__(self) -> None:
        self.broker = FakeBroker(emit=self._emit)
        self.rest_controls = RestControls()
        self.streams = StreamServer(self.broker)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fake-alpaca-ws", daemon=True
        )
        self._rest: RestServer | None = None

    # --- Life cycle ----------------------------------------------------------------------------

    def start(self) -> "FakeAlpaca":
        self._thread.start()
        self._run(self.streams.start())
        self._rest = RestServer(self.broker, self.rest_controls)
        self._rest.start()
        return self

    def stop(self) -> None:
        if self._rest is not None:
            self._rest.stop()
        with contextlib.suppress(Exception):
            self._run(self.streams.stop(), timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def _run(self, coroutine: Awaitable[T], timeout: float = 10) -> T:
        async def wrapper() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout)

    @property
    def rest_url(self) -> str:
        assert self._rest is not None
        return f"http://127.0.0.1:{self._rest.port}"

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.streams.port}/stream"

    @property
    def data_url(self) -> str:
        return f"ws://127.0.0.1:{self.streams.port}/v2/iex"

    # --- Accounts and the market -------------------------------------------------------------

    def add_account(
        self, key_id: str, secret_key: str, *, cash: str = "100000", auto_fill: bool = True
    ) -> FakeAccount:
        """An account (its keys also open the data stream); market orders fill at once."""
        account = FakeAccount(
            key_id, secret_key, Decimal(cash), auto_fill=auto_fill, last_equity=Decimal(cash)
        )
        with self.broker.lock:
            self.broker.accounts[key_id] = account
        self.streams.data_keys[key_id] = secret_key
        return account

    def set_price(self, symbol: str, price: str | Decimal) -> None:
        with self.broker.lock:
            self.broker.prices[symbol] = Decimal(str(price))

    def set_buying_power(self, key_id: str, value: str | Decimal | None) -> None:
        with self.broker.lock:
            account = self.broker.accounts[key_id]
            account.buying_power_override = None if value is None else Decimal(str(value))

    def account(self, key_id: str) -> FakeAccount:
        return self.broker.accounts[key_id]

    # --- Orders --------------------------------------------------------------------------------

    def fill(
        self, key_id: str, ref: str, qty: str | None = None, price: str | None = None
    ) -> dict[str, Any]:
        """Fill (part of) an order by id or client_order_id; returns the event data."""
        return self.broker.fill(self.account(key_id), ref, qty, price)

    def reject(self, key_id: str, ref: str) -> dict[str, Any]:
        return self.broker.end(self.account(key_id), ref, "rejected")

    def cancel(self, key_id: str, ref: str) -> dict[str, Any]:
        return self.broker.end(self.account(key_id), ref, "canceled")

    def order(self, key_id: str, ref: str) -> dict[str, Any] | None:
        with self.broker.lock:
            found = self.account(key_id).order(ref)
            return found.to_json() if found else None

    def positions(self, key_id: str) -> dict[str, tuple[Decimal, Decimal]]:
        with self.broker.lock:
            return dict(self.account(key_id).positions)

    # --- Faults --------------------------------------------------------------------------------

    def fail_next(self, method: str, path: str, status: int, body: Any) -> None:
        """Answer the next `method` request under `path` with `status` and `body`."""
        with self.rest_controls.lock:
            self.rest_controls.injected.append(Injected(method, path, status, body))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Any]:
        with self.rest_controls.lock:
            return [
                r
                for r in self.rest_controls.requests
                if (method is None or r[0] == method) and (path is None or r[1].startswith(path))
            ]

    def drop_trade_streams(self, key_id: str | None = None) -> None:
        """Close the trade-updates sockets (code 1011); alpaca-py reconnects with backoff."""
        done = threading.Event()

        async def drop() -> None:
            await self.streams.drop_trade_streams(key_id)
            done.set()

        self._call_soon(lambda: self.streams.enqueue(drop))
        done.wait(5)

    @contextlib.contextmanager
    def trade_stream_down(self, key_id: str | None = None) -> Iterator[None]:
        """Drop the trade streams and refuse new ones (HTTP 503) until the block ends:
        whatever happens inside is never announced, as in a network outage."""
        self.streams.refuse_trade_connections = True
        try:
            self.drop_trade_streams(key_id)
            yield
        finally:
            self.streams.refuse_trade_connections = False

    def replay_last_fill(self, key_id: str) -> dict[str, Any]:
        """Send the last fill again, same execution_id (Alpaca has been seen to do this)."""
        data = self.streams.last_fill[key_id]
        self._emit(key_id, data)
        return data

    def send_raw_update(self, key_id: str, data: dict[str, Any]) -> None:
        """Any `trade_updates` data object, well-formed or not."""
        self._emit(key_id, data)

    def set_hang_auth(self, hang: bool) -> None:
        """Accept trade-stream sockets but never answer `authenticate`."""
        self.streams.hang_auth = hang

    # --- Market data ---------------------------------------------------------------------------

    def publish_trade(self, symbol: str, price: str | Decimal, size: int = 100) -> int:
        """A trade print to every data socket subscribed to `symbol`; returns how many."""
        return self._run(self.streams.publish_trade(symbol, Decimal(str(price)), size))

    def subscribed_trades(self) -> set[str]:
        return self._run(self._value(self.streams.subscribed_trades))

    def trade_listeners(self, key_id: str) -> int:
        return self._run(self._value(lambda: len(self.streams.trade_listeners[key_id])))

    def wait_until(self, predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"fake alpaca: no {what} within {timeout}s")
            time.sleep(0.02)

    # --- Plumbing ------------------------------------------------------------------------------

    async def _value(self, read: Callable[[], T]) -> T:
        return read()

    def _call_soon(self, callback: Callable[[], None]) -> None:
        self._loop.call_soon_threadsafe(callback)

    def _emit(self, key_id: str, data: dict[str, Any]) -> None:
        """Queue a trade update (called under the broker lock, from any thread)."""
        self._call_soon(
            lambda: self.streams.enqueue(lambda: self.streams.send_trade_update(key_id, data))
        )
