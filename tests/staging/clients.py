"""HTTP sessions, sockets and the stats endpoint of a running deployment, as its users see them."""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.live_server import Session, events_of

CHANNELS = ["positions", "orders", "account"]


class Socket:
    """One /ws/portfolio connection.

    A background task records every frame as it arrives and answers the server's
    heartbeats, as the page does.
    """

    def __init__(self, ws: ClientConnection, server: str) -> None:
        self.ws = ws
        self.server = server
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.bytes_received = 0
        self.closed_at: float | None = None
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                text = message if isinstance(message, str) else message.decode()
                self.bytes_received += len(text.encode())
                frame = json.loads(text)
                self.frames.append((time.perf_counter(), frame))
                self._changed.set()
                if frame.get("type") == "ping":
                    # The server's heartbeat: a client silent for 30 s is closed with 4000.
                    await self.ws.send(json.dumps({"type": "pong"}))
        except ConnectionClosed:
            pass
        finally:
            self.closed_at = time.perf_counter()
            self._changed.set()

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code if self.closed_at is not None else None

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float, what: str
    ) -> tuple[float, dict[str, Any]]:
        """The first event (batches unpacked) so far or from now on that satisfies `predicate`."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for arrived, frame in self.frames:
                        for event in events_of(frame):
                            if predicate(event):
                                return arrived, event
                    if self.closed_at is not None:
                        raise AssertionError(f"the socket closed ({self.close_code}) before {what}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            seen = [f.get("type") for _, f in self.frames][-20:]
            raise AssertionError(f"no {what} within {timeout}s on {self.server}; {seen}") from None

    async def wait_closed(self, timeout: float) -> int | None:
        with_deadline = asyncio.wait_for(asyncio.shield(self._reader), timeout)
        try:
            await with_deadline
        except TimeoutError:
            return None
        return self.close_code

    async def subscribe(self, channels: list[str] = CHANNELS) -> None:
        await self.ws.send(json.dumps({"type": "subscribe", "channels": channels}))
        for channel in channels:
            await self.wait_for(_snapshot_of(channel), timeout=10, what=f"the {channel} snapshot")

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(asyncio.shield(self._reader), 5)


def _snapshot_of(channel: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("type") == "snapshot" and event.get("channel") == channel


async def open_socket(base_url: str, session: Session, *, subscribe: bool = True) -> Socket:
    ws_url = base_url.replace("http://", "ws://", 1) + "/ws/portfolio"
    headers = {"Origin": base_url, "Cookie": session.cookie_header}
    ws = await connect(ws_url, additional_headers=headers, proxy=None, open_timeout=10)
    socket = Socket(ws, base_url)
    if subscribe:
        await socket.subscribe()
    return socket


async def post_order(session: Session, base_url: str, symbol: str, qty: str = "1") -> str:
    """A market buy through `base_url`; returns the order's id."""
    response = await session.client.post(
        f"{base_url}/api/orders/",
        content=json.dumps({"symbol": symbol, "side": "buy", "qty": qty, "type": "market"}),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": session.csrf_token,
            "Origin": base_url,
        },
    )
    assert response.status_code == 201, f"POST /api/orders/ on {base_url}: {response.text}"
    return str(response.json()["id"])


async def stats(session: Session, base_url: str) -> dict[str, Any]:
    response = await session.client.get(f"{base_url}/api/admin/websocket-stats/")
    assert response.status_code == 200, f"stats on {base_url}: {response.status_code}"
    document: dict[str, Any] = response.json()
    return document


async def wait_until(
    probe: Callable[[], Any], check: Callable[[Any], bool], *, timeout: float, what: str
) -> Any:
    """Poll the coroutine function `probe` until `check` accepts its answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await probe()
        if check(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s; last answer: {answer}")
        await asyncio.sleep(0.25)


def http_ready(base_url: str, timeout: float = 60) -> None:
    """Block until the login page answers 200."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2) as client:
        while True:
            try:
                if client.get(f"{base_url}/accounts/login/").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{base_url} did not answer within {timeout}s")
            time.sleep(0.2)
