"""The fake's WebSockets: `trade_updates` (JSON, binary frames) and market data (msgpack).

Everything here runs on the fake's own event loop. Outgoing trade updates and test
actions (drop a stream) go through one FIFO, so they happen in the order tests ask.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import msgpack  # type: ignore[import-untyped]
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fake_alpaca.broker import FakeBroker

logger = logging.getLogger(__name__)

TRADE_PATH = "/stream"
DATA_PATHS = ("/v2/iex", "/v2/sip", "/v2/test")


class StreamServer:
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker
        self.data_keys: dict[str, str] = {}
        self.trade_listeners: dict[str, set[ServerConnection]] = defaultdict(set)
        self.trade_connects: dict[str, int] = defaultdict(int)
        self.trade_auth_failures = 0
        self.data_auth_failures = 0
        self.data_sessions: dict[ServerConnection, dict[str, set[str]]] = {}
        self.data_connects = 0
        self.refuse_trade_connections = False
        self.hang_auth = False
        # (perf_counter when sent, key_id, data) of every trade update sent.
        self.sent: list[tuple[float, str, dict[str, Any]]] = []
        self.last_fill: dict[str, dict[str, Any]] = {}
        self._outbox: asyncio.Queue[Callable[[], Awaitable[None]]] | None = None
        self._server: Server | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._trade_seq = 0
        self.port = 0

    async def start(self) -> None:
        self._outbox = asyncio.Queue()
        self._pump_task = asyncio.get_running_loop().create_task(self._pump(self._outbox))
        self._server = await serve(
            self._route, "127.0.0.1", 0, process_request=self._process_request
        )
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task

    # --- Called on the loop by the controller --------------------------------------------

    def enqueue(self, action: Callable[[], Awaitable[None]]) -> None:
        assert self._outbox is not None
        self._outbox.put_nowait(action)

    async def _pump(self, outbox: asyncio.Queue[Callable[[], Awaitable[None]]]) -> None:
        while True:
            action = await outbox.get()
            try:
                await action()
            except Exception:
                logger.exception("fake alpaca stream action failed")

    async def send_trade_update(self, key_id: str, data: dict[str, Any]) -> None:
        frame = json.dumps({"stream": "trade_updates", "data": data}).encode()
        if data["event"] in {"fill", "partial_fill"}:
            self.last_fill[key_id] = data
        self.sent.append((time.perf_counter(), key_id, data))
        for ws in list(self.trade_listeners[key_id]):
            with contextlib.suppress(ConnectionClosed):
                await ws.send(frame)  # binary, as Alpaca's paper stream sends

    async def drop_trade_streams(self, key_id: str | None) -> None:
        keys = [key_id] if key_id else list(self.trade_listeners)
        for key in keys:
            for ws in list(self.trade_listeners.pop(key, set())):
                try:
                    await asyncio.wait_for(ws.close(1011, "dropped by the test"), 2)
                except TimeoutError:
                    ws.transport.abort()

    async def publish_trade(self, symbol: str, price: Decimal, size: int) -> int:
        self._trade_seq += 1
        trade = {
            "T": "t",
            "S": symbol,
            "i": self._trade_seq,
            "x": "V",
            "p": float(price),
            "s": size,
            "c": ["@"],
            "z": "C",
            "t": msgpack.Timestamp.from_datetime(datetime.now(UTC)),
        }
        frame = msgpack.packb([trade])
        sent = 0
        for ws, subscriptions in list(self.data_sessions.items()):
            if symbol in subscriptions["trades"] or "*" in subscriptions["trades"]:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(frame)
                    sent += 1
        return sent

    def subscribed_trades(self) -> set[str]:
        return {s for subs in self.data_sessions.values() for s in subs["trades"]}

    # --- Connections -------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith(TRADE_PATH) and self.refuse_trade_connections:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "stream down\n")
        return None

    async def _route(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        if path.startswith(TRADE_PATH):
            await self._trade_session(ws)
        elif path.startswith(DATA_PATHS):
            await self._data_session(ws)

    async def _trade_session(self, ws: ServerConnection) -> None:
        try:
            message = json.loads(await ws.recv())
            if self.hang_auth:
                await ws.wait_closed()
                return
            data = message.get("data") or {}
            account = self.broker.authenticate(data.get("key_id"), data.get("secret_key"))
            if message.get("action") != "authenticate" or account is None:
                self.trade_auth_failures += 1
                reply = {"status": "unauthorized", "action": "authenticate"}
                await ws.send(json.dumps({"stream": "authorization", "data": reply}).encode())
                return
            reply = {"status": "authorized", "action": "authenticate"}
            await ws.send(json.dumps({"stream": "authorization", "data": reply}).encode())
            self.trade_connects[account.key_id] += 1
            async for raw in ws:
                message = json.loads(raw)
                if message.get("action") != "listen":
                    continue
                streams = list((message.get("data") or {}).get("streams") or [])
                if "trade_updates" in streams:
                    self.trade_listeners[account.key_id].add(ws)
                else:
                    self.trade_listeners[account.key_id].discard(ws)
                ack = {"stream": "listening", "data": {"streams": streams}}
                await ws.send(json.dumps(ack).encode())
        except ConnectionClosed:
            pass
        finally:
            for listeners in self.trade_listeners.values():
                listeners.discard(ws)

    async def _data_session(self, ws: ServerConnection) -> None:
        try:
            await ws.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
            message = msgpack.unpackb(await ws.recv())
            key, secret = message.get("key"), message.get("secret")
            if message.get("action") != "auth" or self.data_keys.get(key) != secret:
                self.data_auth_failures += 1
                await ws.send(msgpack.packb([{"T": "error", "code": 402, "msg": "auth failed"}]))
                return
            await ws.send(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
            self.data_connects += 1
            subscriptions: dict[str, set[str]] = {"trades": set(), "quotes": set(), "bars": set()}
            self.data_sessions[ws] = subscriptions
            async for raw in ws:
                message = msgpack.unpackb(raw)
                action = message.get("action")
                for channel, symbols in subscriptions.items():
                    if action == "subscribe":
                        symbols.update(message.get(channel) or [])
                    elif action == "unsubscribe":
                        symbols.difference_update(message.get(channel) or [])
                ack: dict[str, Any] = {"T": "subscription"}
                ack.update({c: sorted(s) for c, s in subscriptions.items()})
                ack["corrections"] = ack["cancelErrors"] = sorted(subscriptions["trades"])
                await ws.send(msgpack.packb([ack]))
        except ConnectionClosed:
            pass
        finally:
            self.data_sessions.pop(ws, None)
