"""The fake's REST API (`/v2/...`), served by a threaded http.server on a free port."""

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fake_alpaca.broker import TERMINAL, FakeAccount, FakeBroker, FakeOrder
from tests.fake_alpaca.shapes import account_json, position_json

NOT_AUTHORIZED = {"code": 40110000, "message": "request is not authorized"}
ORDER_NOT_FOUND = {"code": 40410000, "message": "order not found"}


@dataclass
class Injected:
    """A canned answer for the next request matching `method` and `path` (a prefix)."""

    method: str
    path: str
    status: int
    body: Any


@dataclass
class RestControls:
    requests: list[tuple[str, str, dict[str, list[str]], Any]] = field(default_factory=list)
    injected: list[Injected] = field(default_factory=list)
    delay_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, method: str, path: str) -> Injected | None:
        with self.lock:
            for item in self.injected:
                if item.method == method and path.startswith(item.path):
                    self.injected.remove(item)
                    return item
        return None


def _query_time(values: dict[str, list[str]], key: str) -> datetime | None:
    raw = values.get(key, [None])[0]
    return datetime.fromisoformat(raw) if raw else None


def _orders(broker: FakeBroker, account: FakeAccount, query: dict[str, list[str]]) -> list[Any]:
    status = query.get("status", ["open"])[0]
    after, until = _query_time(query, "after"), _query_time(query, "until")
    symbols = set(",".join(query.get("symbols", [])).split(",")) - {""}
    limit = int(query.get("limit", ["50"])[0])
    chosen: list[FakeOrder] = []
    for order in account.orders.values():
        is_open = order.status not in TERMINAL
        if (status == "open" and not is_open) or (status == "closed" and is_open):
            continue
        # Alpaca's after/until filter on the submission time.
        if (after and order.created_at <= after) or (until and order.created_at >= until):
            continue
        if symbols and order.symbol not in symbols:
            continue
        chosen.append(order)
    chosen.sort(key=lambda o: o.created_at, reverse=query.get("direction", ["desc"])[0] == "desc")
    return [o.to_json() for o in chosen[:limit]]


def make_handler(broker: FakeBroker, controls: RestControls) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _reply(self, status: int, body: Any = None) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            path, query = unquote(parts.path), parse_qs(parts.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length), parse_float=Decimal) if length else None
            with controls.lock:
                controls.requests.append((method, path, query, body))
            if controls.delay_seconds:
                time.sleep(controls.delay_seconds)
            injected = controls.take(method, path)
            if injected is not None:
                self._reply(injected.status, injected.body)
                return
            account = broker.authenticate(
                self.headers.get("APCA-API-KEY-ID"), self.headers.get("APCA-API-SECRET-KEY")
            )
            if account is None:
                self._reply(401, NOT_AUTHORIZED)
                return
            with broker.lock:
                status, answer = self._route(method, path, query, body, account)
            self._reply(status, answer)

        def _route(
            self,
            method: str,
            path: str,
            query: dict[str, list[str]],
            body: Any,
            account: FakeAccount,
        ) -> tuple[int, Any]:
            if (method, path) == ("GET", "/v2/account"):
                return 200, account_json(broker, account)
            if (method, path) == ("GET", "/v2/positions"):
                return 200, [position_json(broker, account, s) for s in sorted(account.positions)]
            if method == "GET" and path.startswith("/v2/positions/"):
                symbol = path.rsplit("/", 1)[1]
                if symbol not in account.positions:
                    return 404, {"code": 40410000, "message": "position does not exist"}
                return 200, position_json(broker, account, symbol)
            if (method, path) == ("GET", "/v2/orders"):
                return 200, _orders(broker, account, query)
            if (method, path) == ("POST", "/v2/orders"):
                return broker.submit(account, body or {})
            if (method, path) == ("GET", "/v2/orders:by_client_order_id"):
                order = account.order(query.get("client_order_id", [""])[0])
                return (200, order.to_json()) if order else (404, ORDER_NOT_FOUND)
            if path.startswith("/v2/orders/"):
                order = account.orders.get(path.rsplit("/", 1)[1])
                if order is None:
                    return 404, ORDER_NOT_FOUND
                if method == "GET":
                    return 200, order.to_json()
                if method == "DELETE":
                    if order.status in TERMINAL:
                        message = f'order is already in "{order.status}" state'
                        return 422, {"code": 42210000, "message": message}
                    broker.end(account, order.id, "canceled")
                    return 204, None
            if method == "GET" and path.startswith("/v2/assets/"):
                symbol = path.rsplit("/", 1)[1]
                if symbol not in broker.prices:
                    return 404, {"code": 40410000, "message": "asset not found"}
                return 200, {"symbol": symbol, "tradable": True, "status": "active"}
            return 404, {"code": 40410000, "message": f"no route {method} {path}"}

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


class RestServer:
    def __init__(self, broker: FakeBroker, controls: RestControls) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(broker, controls))
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(
            target=lambda: self.httpd.serve_forever(poll_interval=0.05),
            name="fake-alpaca-rest",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
