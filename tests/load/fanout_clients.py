"""The load generator of bench_fanout: N sockets on one server, timing every event received.

    python -m tests.load.fanout_clients --kind product|product-uvicorn|socketio|websockets \
        --url URL \
        --users users.json --first 0 --count 1000 --ready R --out O

One asyncio process with the `websockets` client, the same code for every server; only
the handshake differs (the product: session cookie, Origin, `subscribe` to "orders" and its
snapshot; Socket.IO: Engine.IO's open packet and a connect with `{"user": id}`; bare:
`/?user=<id>`). Every event's latency is its arrival time minus the send time (`ts`) the
publisher put in it: one machine, one clock. When all sockets are open it writes `--ready`;
on SIGTERM it closes them and writes every (ts, arrival) pair to `--out`.
"""

import argparse
import asyncio
import contextlib
import json
import signal
import time
from array import array
from datetime import datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

KINDS = ("product", "product-uvicorn", "socketio", "websockets")
OPEN_TIMEOUT_SECONDS = 120.0


class Recorder:
    """Every event's send time and arrival time, and whatever went wrong, for one process."""

    def __init__(self) -> None:
        self.sent = array("d")
        self.arrived = array("d")
        self.unexpected: dict[str, int] = {}
        self.close_codes: dict[str, int] = {}

    def event(self, ts: str) -> None:
        arrival = time.time()
        self.sent.append(datetime.fromisoformat(ts).timestamp())
        self.arrived.append(arrival)

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


async def product_socket(url: str, user: dict[str, Any], recorder: Recorder) -> ClientConnection:
    origin = url.replace("ws://", "http://").split("/ws/")[0]
    ws = await connect(
        url,
        additional_headers={"Origin": origin, "Cookie": f"sessionid={user['sessionid']}"},
        proxy=None,
        compression=None,
        open_timeout=OPEN_TIMEOUT_SECONDS,
        ping_interval=None,  # the server's own heartbeat is what it checks
    )
    await ws.send('{"type":"subscribe","channels":["orders"]}')
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "snapshot":
            return ws
        if frame["type"] == "error":
            raise RuntimeError(f"subscribe failed: {frame}")


async def product_read(ws: ClientConnection, recorder: Recorder) -> None:
    async for message in ws:
        frame = json.loads(message)
        kind = frame["type"]
        if kind == "order_update":
            recorder.event(frame["ts"])
        elif kind == "ping":
            await ws.send('{"type":"pong"}')
        else:
            recorder.count(recorder.unexpected, str(kind))


async def socketio_socket(url: str, user: dict[str, Any], recorder: Recorder) -> ClientConnection:
    ws = await connect(
        f"{url}/socket.io/?EIO=4&transport=websocket",
        proxy=None,
        compression=None,
        open_timeout=OPEN_TIMEOUT_SECONDS,
        ping_interval=None,  # Engine.IO pings from the server; the reader answers
    )
    opening = await ws.recv()
    assert isinstance(opening, str) and opening.startswith("0"), opening
    await ws.send("40" + json.dumps({"user": user["user_id"]}))
    connected = await ws.recv()
    if not (isinstance(connected, str) and connected.startswith("40")):
        raise RuntimeError(f"socket.io connect refused: {connected!r}")
    return ws


async def socketio_read(ws: ClientConnection, recorder: Recorder) -> None:
    async for message in ws:
        assert isinstance(message, str)
        if message.startswith("42"):
            name, data = json.loads(message[2:])
            if name == "order_update":
                recorder.event(data["ts"])
                continue
        elif message == "2":  # Engine.IO ping
            await ws.send("3")
            continue
        recorder.count(recorder.unexpected, message[:2])


async def bare_socket(url: str, user: dict[str, Any], recorder: Recorder) -> ClientConnection:
    return await connect(
        f"{url}/?user={user['user_id']}",
        proxy=None,
        compression=None,
        open_timeout=OPEN_TIMEOUT_SECONDS,
        ping_interval=None,
    )


async def bare_read(ws: ClientConnection, recorder: Recorder) -> None:
    async for message in ws:
        frame = json.loads(message)
        if frame.get("type") == "order_update":
            recorder.event(frame["ts"])
        else:
            recorder.count(recorder.unexpected, str(frame.get("type")))


OPENERS = {
    "product": product_socket,
    "product-uvicorn": product_socket,  # the same application, another server
    "socketio": socketio_socket,
    "websockets": bare_socket,
}
READERS = {
    "product": product_read,
    "product-uvicorn": product_read,
    "socketio": socketio_read,
    "websockets": bare_read,
}


async def run(options: argparse.Namespace, users: list[dict[str, Any]]) -> None:
    recorder = Recorder()
    opener, reader = OPENERS[options.kind], READERS[options.kind]
    gate = asyncio.Semaphore(options.concurrency)
    sockets: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []

    async def read(ws: ClientConnection) -> None:
        try:
            await reader(ws, recorder)
        except ConnectionClosed:
            pass
        finally:
            recorder.count(recorder.close_codes, str(ws.close_code))

    async def open_one(user: dict[str, Any]) -> None:
        async with gate:
            ws = await opener(options.url, user, recorder)
        sockets.append(ws)
        readers.append(asyncio.create_task(read(ws)))

    started = time.monotonic()
    await asyncio.gather(*(open_one(u) for u in users))
    connect_seconds = time.monotonic() - started
    await asyncio.to_thread(Path(options.ready).write_text, json.dumps({"sockets": len(sockets)}))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    # Counts only the closes that happened while measuring, not ours.
    closed_early = dict(recorder.close_codes)
    for ws in sockets:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 2)
    for task in readers:
        task.cancel()
    await asyncio.to_thread(
        Path(options.out).write_text,
        json.dumps(
            {
                "kind": options.kind,
                "sockets": len(sockets),
                "connect_s": round(connect_seconds, 2),
                "unexpected_frames": recorder.unexpected,
                "closed_while_measuring": closed_early,
                "sent": recorder.sent.tolist(),
                "arrived": recorder.arrived.tolist(),
            }
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.fanout_clients")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--users", required=True, help="JSON: [{user_id, sessionid}]")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--out", required=True)
    options = parser.parse_args()
    users = json.loads(Path(options.users).read_text())[options.first :][: options.count]
    asyncio.run(run(options, users))


if __name__ == "__main__":
    main()
