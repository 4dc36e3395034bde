"""Fixtures for socket tests: a channel layer per test (in-memory or Redis) and a connector."""

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from portfolio_stream.asgi import application
from realtime.publisher import publisher
from realtime.wire import WireFrame

ORIGIN = (b"origin", b"http://localhost")
# The origin check compares the Origin with the request's own host (realtime.origin).
HOST = (b"host", b"localhost")
REDIS_URL = (
    os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
)

Connect = Callable[..., Awaitable[WebsocketCommunicator]]


def event_of(message: dict[str, Any]) -> dict[str, Any]:
    """The event a publisher's channel-layer message carries, as the socket will send it."""
    frame = WireFrame.from_message(message)
    assert frame is not None, message
    return frame.payload()


def redis_layer_config(url: str = REDIS_URL) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "realtime.layers.ResilientRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": url}], "prefix": f"test{os.getpid()}"},
        }
    }


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def layer_kind(request: pytest.FixtureRequest, settings: Any) -> str:
    """Each socket test runs on the in-memory layer and on Redis's PubSub layer."""
    if request.param == "redis":
        settings.CHANNEL_LAYERS = redis_layer_config()
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return str(request.param)


@pytest.fixture
async def channel_layer(layer_kind: str) -> AsyncIterator[Any]:
    channel_layers.backends.clear()
    publisher.bind_loop(asyncio.get_running_loop())
    layer = get_channel_layer()
    yield layer
    await publisher.unbind_loop()
    await layer.flush()
    channel_layers.backends.clear()


async def session_cookie(user: Any) -> bytes:
    def login() -> str:
        client = Client()
        client.force_login(user)
        return str(client.cookies["sessionid"].value)

    return f"sessionid={await sync_to_async(login)()}".encode()


@pytest.fixture
async def ws_connect(channel_layer: Any) -> AsyncIterator[Connect]:
    """Open an authenticated socket for a user; every socket is closed at teardown."""
    opened: list[WebsocketCommunicator] = []

    async def connect(
        user: Any = None, *, origin: bytes = ORIGIN[1], cookie: bytes | None = None
    ) -> WebsocketCommunicator:
        headers = [HOST, (b"origin", origin)]
        if user is not None:
            headers.append((b"cookie", cookie or await session_cookie(user)))
        communicator = WebsocketCommunicator(application, "/ws/portfolio", headers=headers)
        opened.append(communicator)
        return communicator

    yield connect
    for communicator in opened:
        try:
            await communicator.disconnect()
        except (Exception, asyncio.CancelledError):  # noqa: S110 - closed or cancelled by the test
            pass


async def receive_until(
    communicator: WebsocketCommunicator, frame_type: str, timeout: float = 3.0
) -> dict[str, Any]:
    """Read frames until one of `frame_type` arrives (heartbeat pings are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        frame = await communicator.receive_json_from(timeout=max(remaining, 0.01))
        if frame["type"] == frame_type:
            return dict(frame)


async def subscribe(
    communicator: WebsocketCommunicator, channels: list[str]
) -> dict[str, dict[str, Any]]:
    """Subscribe and return the snapshots by channel."""
    await communicator.send_json_to({"type": "subscribe", "channels": channels})
    assert (await receive_until(communicator, "subscribed"))["channels"] == channels
    snapshots = {}
    for _ in channels:
        snapshot = await receive_until(communicator, "snapshot")
        snapshots[snapshot["channel"]] = snapshot
    return snapshots
