"""The servers of bench_fanout other than daphne: two peers, and the product under uvicorn.

    python -m tests.load.fanout_peers websockets --port P --redis-url U --prefix X
    python -m tests.load.fanout_peers socketio --port P --redis-url U --prefix X
    python -m tests.load.fanout_peers product-uvicorn --port P --redis-url U --prefix X

The two peers deliver a user's events to that user's sockets and nothing more: no auth,
no snapshot, no sequencing. They are the floor the product is measured against.

- `websockets`: a socket connects to `/?user=<id>`; the first socket of a user SUBSCRIBEs
  to `<prefix>.user.<id>` on the server's one Redis pub/sub connection (the product's
  layer subscribes per group the same way), and each message is forwarded as it came,
  with `broadcast()` (websockets' own fan-out: a write per socket, no waiting).
- `socketio`: python-socketio's AsyncServer under uvicorn with `AsyncRedisManager`; the
  socket's auth `{"user": id}` puts it in room `user.<id>`. Publishers emit with a
  write-only manager on the same Redis channel (`<prefix>.socketio`).

Compression is off in both, as daphne's is.

`product-uvicorn` is the product's own ASGI application (`portfolio_stream.asgi:application`)
under uvicorn, configured as tests.integration.live_server configures `manage.py serve`
(REDIS_URL `--redis-url`; channel-layer, cache and stats prefix `--prefix`; the rest of the
environment, the database included, from the parent, as for the daphne product). Of what
serve starts, this benchmark needs only the stats reporter (asgi.py starts it on import)
and the publisher's loop, which asgi.PublishOnServerLoop binds on the first connection;
serve's worker and market are off in the benchmark anyway. uvicorn runs as the socketio
peer's does: `websockets-sansio`, h11, the plain asyncio loop, no lifespan, no access log,
no proxy headers; ASGI 3 named (auto takes the application's plain `__call__` for ASGI 2);
pings every 20 s with daphne's 30 s timeout. realtime.daphne_shim patches daphne's classes
here too (the "daphne" app imports daphne.server), but its extensions live in daphne's
scope only: the consumers send through plain ASGI `send`, with a sender task per burst,
and the backlog bound is not read (uvicorn's `send` waits instead while the transport
holds more than its high-water mark, so the outbox's queue limit is what cuts a slow
client loose).

uvicorn's settings are shared by `socketio` and `product-uvicorn` (UVICORN_OPTIONS).
"""

import argparse
import asyncio
import contextlib
import logging
import os
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS = ("websockets", "socketio", "product-uvicorn")

# The same uvicorn for python-socketio and the product. Named rather than "auto" so that the
# run says what it measured (neither uvloop nor httptools is installed: auto is the same).
UVICORN_OPTIONS: dict[str, Any] = {
    "host": "127.0.0.1",
    "log_level": "warning",
    "access_log": False,
    "loop": "asyncio",
    "http": "h11",
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
    "lifespan": "off",
    # No X-Forwarded-* rewriting: daphne under serve has none (and a coroutine frame less
    # per socket for as long as it lives).
    "proxy_headers": False,
}


def socketio_channel(prefix: str) -> str:
    return f"{prefix}.socketio"


def user_channel(prefix: str, user_id: int | str) -> str:
    return f"{prefix}.user.{user_id}"


def socketio_room(user_id: int | str) -> str:
    return f"user.{user_id}"


# --- Bare websockets -------------------------------------------------------------------------


async def serve_websockets(port: int, redis_url: str, prefix: str) -> None:
    import redis.asyncio as aioredis
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    pubsub = client.pubsub()
    sockets: dict[str, set[ServerConnection]] = defaultdict(set)
    # Serialises SUBSCRIBE/UNSUBSCRIBE writes on the shared connection (the reader is apart).
    lock = asyncio.Lock()
    subscribed = asyncio.Event()
    channel_prefix = user_channel(prefix, "")

    async def read() -> None:
        # redis-py refuses to read from a pub/sub with no subscription yet.
        await subscribed.wait()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            user = message["channel"][len(channel_prefix) :]
            broadcast(sockets.get(user, ()), message["data"])

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        user = parse_qs(urlsplit(ws.request.path).query)["user"][0]
        mine = sockets[user]
        if not mine:
            async with lock:
                await pubsub.subscribe(user_channel(prefix, user))
            subscribed.set()
        mine.add(ws)
        try:
            await ws.wait_closed()
        finally:
            mine.discard(ws)
            if not mine:
                sockets.pop(user, None)
                async with lock:
                    await pubsub.unsubscribe(user_channel(prefix, user))

    reader = asyncio.create_task(read())
    async with serve(
        handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=None
    ) as server:
        print(f"websockets fan-out server on {port}", flush=True)
        try:
            await server.serve_forever()
        finally:
            reader.cancel()


# --- python-socketio ---------------------------------------------------------------------------


def serve_socketio(port: int, redis_url: str, prefix: str) -> None:
    import socketio  # type: ignore[import-untyped]
    import uvicorn

    manager = socketio.AsyncRedisManager(redis_url, channel=socketio_channel(prefix))
    sio = socketio.AsyncServer(
        async_mode="asgi", client_manager=manager, transports=["websocket"], cors_allowed_origins=[]
    )

    async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> None:
        if not auth or "user" not in auth:
            raise socketio.exceptions.ConnectionRefusedError("no user")
        await sio.enter_room(sid, socketio_room(auth["user"]))

    sio.on("connect", connect)
    app = socketio.ASGIApp(sio)
    print(f"socketio fan-out server on {port}", flush=True)
    uvicorn.run(app, port=port, **UVICORN_OPTIONS)


# --- The product under uvicorn ------------------------------------------------------------------


def serve_product_uvicorn(port: int, redis_url: str, prefix: str) -> None:
    import uvicorn

    from tests.processes import REPO_ROOT

    os.chdir(REPO_ROOT)
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio_stream.settings")
    from django.conf import settings

    # What tests.integration.live_server does for serve, before anything builds the
    # channel layer or the cache from these settings.
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    if "Redis" not in layer["BACKEND"]:
        raise SystemExit("product-uvicorn needs REDIS_URL (the Redis channel layer)")
    layer.setdefault("CONFIG", {})["prefix"] = prefix
    settings.CACHES["default"]["KEY_PREFIX"] = prefix
    settings.CACHES["waffle"]["KEY_PREFIX"] = prefix
    settings.STATS_REDIS_PREFIX = f"{prefix}:stats:"
    # Sets Django up and starts the stats reporter, as serve's import of it does.
    from portfolio_stream.asgi import application

    print(f"product under uvicorn on {port}", flush=True)
    # daphne's ping under serve: every 20 s, 30 s to answer.
    uvicorn.run(
        application,
        port=port,
        # Its __call__ is a plain function (no coroutine frame per socket): auto would
        # take it for ASGI 2.
        interface="asgi3",
        ws_ping_interval=20,
        ws_ping_timeout=30,
        **UVICORN_OPTIONS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.fanout_peers")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    options = parser.parse_args()
    if options.kind == "product-uvicorn":
        # Django's LOGGING, as under serve.
        serve_product_uvicorn(options.port, options.redis_url, options.prefix)
        return
    logging.basicConfig(level=logging.WARNING)
    if options.kind == "websockets":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_websockets(options.port, options.redis_url, options.prefix))
    else:
        serve_socketio(options.port, options.redis_url, options.prefix)


if __name__ == "__main__":
    main()
