"""How many bytes a live portfolio page's socket costs a minute, measured against a server.

    python -m tests.staging.data_usage --url http://127.0.0.1:8000 --user demo --password demo \
        [--minutes 2.5] [--order-every SECONDS]

Logs in, opens /ws/portfolio as the page does (every channel), answers heartbeats as the
page does, and counts what crosses the socket in each direction: payload bytes, frames and
an estimate of the WebSocket framing. With --order-every, it also buys 1 share of a
rotating symbol that often through the REST API, as a trading user would.
"""

import argparse
import asyncio
import json
import logging
import time
from collections import Counter

from websockets.asyncio.client import connect

from tests.integration.live_server import login
from tests.staging.clients import CHANNELS, post_order

SYMBOLS = ("AAPL", "MSFT", "NVDA", "JPM", "TSLA")


def frame_overhead(payload: int, *, masked: bool) -> int:
    """RFC 6455 header bytes of one frame; clients mask (4 more bytes)."""
    length = 2 if payload < 126 else 4 if payload < 65536 else 10
    return length + (4 if masked else 0)


async def measure(options: argparse.Namespace) -> dict[str, object]:
    session = await login(options.url, options.user, options.password)
    ws_url = "ws" + options.url.removeprefix("http") + "/ws/portfolio"  # http->ws, https->wss
    headers = {"Origin": options.url, "Cookie": session.cookie_header}
    received = sent = frames_in = frames_out = wire_in = wire_out = 0
    types: Counter[str] = Counter()
    async with connect(ws_url, additional_headers=headers, proxy=None) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions") if ws.response else None

        async def send(frame: dict[str, object]) -> None:
            nonlocal sent, frames_out, wire_out
            text = json.dumps(frame, separators=(",", ":"))
            sent += len(text.encode())
            frames_out += 1
            wire_out += len(text.encode()) + frame_overhead(len(text.encode()), masked=True)
            await ws.send(text)

        await send({"type": "subscribe", "channels": CHANNELS})
        # The snapshots are the page's one-off cost; the rate is measured after them.
        snapshot_bytes = 0
        while sum(t == "snapshot" for t in types.elements()) < len(CHANNELS):
            message = str(await ws.recv())
            snapshot_bytes += len(message.encode())
            types[json.loads(message)["type"]] += 1
        types.clear()

        started = time.monotonic()
        deadline = started + 60 * options.minutes
        next_order = started + options.order_every if options.order_every else None
        orders = 0
        while (now := time.monotonic()) < deadline:
            wake = min(deadline, next_order) if next_order else deadline
            try:
                message = str(await asyncio.wait_for(ws.recv(), timeout=max(0.01, wake - now)))
            except TimeoutError:
                message = ""
            if message:
                size = len(message.encode())
                received += size
                frames_in += 1
                wire_in += size + frame_overhead(size, masked=False)
                kind = json.loads(message)["type"]
                types[kind] += 1
                if kind == "ping":  # the server heartbeat
                    await send({"type": "pong"})
            if next_order and time.monotonic() >= next_order:
                await post_order(session, options.url, SYMBOLS[orders % len(SYMBOLS)])
                orders += 1
                next_order += options.order_every
        minutes = (time.monotonic() - started) / 60
    await session.client.aclose()
    return {
        "minutes": round(minutes, 2),
        "orders": orders,
        "compression": extensions or "none",
        "snapshot_bytes": snapshot_bytes,
        "received_bytes_per_minute": round(received / minutes),
        "received_wire_bytes_per_minute": round(wire_in / minutes),
        "received_frames_per_minute": round(frames_in / minutes, 1),
        "sent_bytes_per_minute": round(sent / minutes),
        "sent_wire_bytes_per_minute": round(wire_out / minutes),
        "frames_by_type": dict(sorted(types.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.staging.data_usage")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--minutes", type=float, default=2.5)
    parser.add_argument("--order-every", type=float, default=0.0, help="seconds; 0: no orders")
    options = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(json.dumps(asyncio.run(measure(options)), indent=2))


if __name__ == "__main__":
    main()
