"""The two peer servers of bench_fanout: bare `websockets` + Redis, python-socketio + Redis.

    python -m tests.load.fanout_peers websockets --port P --redis-url U --prefix X
    python -m tests.load.fanout_peers socketio --port P --redis-url U --prefix X

Both deliver a user's events to that user's sockets and nothing more: no auth, no
snapshot, no sequencing. They are the floor the product is measured against.

- `websockets`: a socket connects to `/?user=<id>`; the first socket of a user SUBSCRIBEs
  to `<prefix>.user.<id>` on the server's one Redis pub/sub connection (the product's
  layer subscribes per group the same way), and each message is forwarded as it came,
  with `broadcast()` (websockets' own fan-out: a write per socket, no waiting).
- `socketio`: python-socketio's AsyncServer under uvicorn with `AsyncRedisManager`; the
  socket's auth `{"user": id}` puts it in room `user.<id>`. Publishers emit with a
  write-only manager on the same Redis channel (`<prefix>.socketio`).

Compression is off in both, as daphne's is.
"""

import argparse
import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS = ("websockets", "socketio")


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
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        # Named rather than "auto" so the run says what it measured.
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="off",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.fanout_peers")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if options.kind == "websockets":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_websockets(options.port, options.redis_url, options.prefix))
    else:
        serve_socketio(options.port, options.redis_url, options.prefix)


if __name__ == "__main__":
    main()
