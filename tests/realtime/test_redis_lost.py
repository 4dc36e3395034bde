"""Redis lost under open sockets: each is told (`unavailable`, 1013) instead of going quiet,
and once Redis is back no subscription of a closed socket is left behind.

The layer reaches Redis through a TCP proxy the test can cut, as a network failure would.
"""

import asyncio
import contextlib
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from realtime.conf import CloseCode
from tests.factories import make_account
from tests.realtime.conftest import REDIS_URL, receive_until, redis_layer_config, subscribe
from trading.models import BrokerAccount

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class Proxy:
    """Forwards TCP connections to Redis until cut."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.path = parts.path
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture
async def trader() -> BrokerAccount:
    return await sync_to_async(make_account)("gina")


async def test_open_sockets_close_with_1013_and_nothing_stays_subscribed(
    ws_connect: Any, trader: BrokerAccount, settings: Any
) -> None:
    proxy = Proxy(REDIS_URL)
    await proxy.start()
    config = redis_layer_config(proxy.url)
    prefix = config["default"]["CONFIG"]["prefix"] = f"lost{proxy.port}"
    settings.CHANNEL_LAYERS = config
    channel_layers.backends.clear()
    communicator = await ws_connect(trader.user)
    assert (await communicator.connect())[0]
    await subscribe(communicator, ["orders"])

    await proxy.cut()
    assert (await receive_until(communicator, "error", timeout=5))["code"] == "unavailable"
    closed = await communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": CloseCode.TRY_AGAIN_LATER}
    await communicator.send_input({"type": "websocket.disconnect", "code": 1013})
    await asyncio.wait_for(communicator.future, 1)
    loop_layer = channel_layers["default"]._get_layer()
    assert loop_layer.channels == {} and loop_layer.groups == {}
    assert loop_layer.pending_unsubscribes() > 0  # Redis is away: to be retried

    await proxy.start()  # Redis is back: redis-py subscribes its channels again on reconnect
    client = redis.asyncio.from_url(REDIS_URL)
    try:
        for _ in range(75):  # 15 s: the retries back off 1 s, 2 s, 4 s...
            left = await client.pubsub_channels(f"{prefix}*")
            if not left and not loop_layer.pending_unsubscribes():
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"still subscribed after Redis came back: {left}")
    finally:
        await client.aclose()
        await proxy.cut()
        channel_layers.backends.clear()
