"""Clients of /ws/portfolio for tests against a real daphne: users, cookies, sockets, events.

Sessions are minted in the test database (the servers read it), users are created without
hashing a password (hundreds of them in a second), and events are published straight to
the servers' channel layer, as the publisher of another process would.
"""

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime.groups import channel_group
from realtime.wire import WireFrame
from tests.integration.live_server import LiveServer, live_redis_url
from tests.processes import Processes
from trading.services.accounts import account_open_simulated

CHANNELS = ["positions", "orders", "account"]
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    try:
        yield group
    finally:
        print(group.logs())  # pytest shows it only when the test failed
        group.close()


@pytest.fixture
def redis_url() -> str:
    return live_redis_url()


# --- Users and sessions --------------------------------------------------------------------


def make_stream_users(count: int, prefix: str = "stream") -> list[Any]:
    """Users with a simulated account each; their password is unusable (no hashing)."""
    users = []
    for i in range(count):
        user = get_user_model().objects.create(
            username=f"{prefix}{i}", password=make_password(None)
        )
        account_open_simulated(user=user, cash=Decimal("100000.00"))
        users.append(user)
    return users


def session_cookie(user: Any) -> str:
    """A new logged-in session of `user`, as a Cookie header."""
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return f"sessionid={client.cookies['sessionid'].value}"


# --- Sockets -------------------------------------------------------------------------------


def open_socket(
    server: LiveServer,
    cookie: str | None,
    *,
    origin: str | None = None,
    path: str = "/ws/portfolio",
    **options: Any,
) -> Any:
    headers = {"Origin": origin or server.base_url}
    if cookie is not None:
        headers["Cookie"] = cookie
    url = f"ws://127.0.0.1:{server.port}{path}"
    return connect(url, additional_headers=headers, proxy=None, open_timeout=15, **options)


async def handshake_status(server: LiveServer, cookie: str | None, **kw: Any) -> int:
    """101 if the socket opened (and answered a ping), else the HTTP status."""
    try:
        async with open_socket(server, cookie, **kw) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert (await next_frame(ws, "pong"))["type"] == "pong"
            return 101
    except InvalidStatus as refused:
        return int(refused.response.status_code)


async def next_frame(ws: ClientConnection, frame_type: str, timeout: float = 10) -> dict[str, Any]:
    """The next frame of `frame_type` (others, such as heartbeat pings, are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame


async def subscribe(ws: ClientConnection, channels: list[str] = CHANNELS) -> dict[str, int]:
    """Subscribe; the snapshots' seqs by channel."""
    await ws.send(json.dumps({"type": "subscribe", "channels": channels}))
    await next_frame(ws, "subscribed")
    seqs = {}
    for _ in channels:
        snapshot = await next_frame(ws, "snapshot")
        seqs[snapshot["channel"]] = snapshot["seq"]
    return seqs


async def read_until_closed(
    ws: ClientConnection, timeout: float = 15
) -> tuple[list[dict[str, Any]], int | None, str]:
    """Every frame until the server closes; (frames, close code, close reason)."""
    frames: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout):
            async for message in ws:
                frames.append(json.loads(message))
    except ConnectionClosed:
        pass
    received = ws.protocol.close_rcvd  # the close frame the server sent, if one arrived
    if received is None:
        return frames, None, ""
    return frames, int(received.code), received.reason


def small_receive_buffer_socket(port: int, receive_buffer: int = 16 * 1024) -> socket.socket:
    """A connected TCP socket whose kernel receive buffer is small (a slow reader fills fast)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", port))
    return sock


# --- Events and Redis ----------------------------------------------------------------------


def order_frame(user_id: int, seq: int, pad: int = 0) -> dict[str, Any]:
    """An order_update as the publisher sends it (the consumer forwards it as it is)."""
    now = timezone.now().isoformat().replace("+00:00", "Z")
    return {
        "type": "order_update",
        "channel": "orders",
        "seq": seq,
        "ts": now,
        "data": {
            "id": f"order-{user_id}-{seq}",
            "symbol": "AAPL",
            "side": "buy",
            "type": "market",
            "qty": "1.000000",
            "status": "filled",
            "note": "x" * pad,
        },
    }


class EventSource:
    """Publishes order events to users' `orders` groups through the servers' Redis layer."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.layer = RedisPubSubChannelLayer(hosts=[{"address": redis_url}], prefix=prefix)
        self.seqs: dict[int, int] = {}
        self.sent = 0

    async def send(self, user_id: int, *, pad: int = 0) -> None:
        seq = self.seqs[user_id] = self.seqs.get(user_id, 0) + 1
        frame = order_frame(user_id, seq, pad)
        wire = WireFrame("orders", seq, seq, frame["type"], time.time(), json.dumps(frame))
        message = wire.to_message(urgent=False)
        await self.layer.group_send(channel_group(user_id, "orders"), message)
        self.sent += 1

    async def stream(
        self, user_ids: list[int], per_second: float, *, pad: int = 0, stop: asyncio.Event
    ) -> None:
        """Round-robin over the users at `per_second` until `stop` is set."""
        loop = asyncio.get_running_loop()
        started, sent = loop.time(), 0
        while not stop.is_set():
            await self.send(user_ids[sent % len(user_ids)], pad=pad)
            sent += 1
            ahead = started + sent / per_second - loop.time()
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def close(self) -> None:
        await self.layer.flush()


def pubsub_channels(redis_url: str, prefix: str) -> list[str]:
    """The Redis Pub/Sub channels with a subscriber whose name starts with `prefix`."""
    client = redis.Redis.from_url(redis_url)
    try:
        return sorted(c.decode() for c in client.pubsub_channels(f"{prefix}*"))
    finally:
        client.close()


def pubsub_numsub(redis_url: str, names: list[str]) -> dict[str, int]:
    client = redis.Redis.from_url(redis_url)
    try:
        return {
            (n.decode() if isinstance(n, bytes) else n): int(c)
            for n, c in client.pubsub_numsub(*names)
        }
    finally:
        client.close()
