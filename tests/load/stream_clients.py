"""The sockets of bench_stream: one client per user, timing every frame it receives."""

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CHANNELS = ("positions", "orders", "account")
EVENT_TYPES = frozenset({"position_update", "order_update", "account_update", "trade_executed"})


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


@dataclass
class StreamClient:
    """One browser tab: subscribes, answers heartbeats, checks seqs, times every frame."""

    trader: dict[str, Any]
    ws_url: str
    origin: str
    last_seq: dict[str, int] = field(default_factory=dict)
    # (arrival, channel, type, latency of newest event, of oldest event, events carried)
    records: list[tuple[float, str, str, float, float, int]] = field(default_factory=list)
    gaps: int = 0
    missing: int = 0
    stale: int = 0
    errors: list[str] = field(default_factory=list)
    close_code: int | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(
            self.ws_url,
            additional_headers={
                "Origin": self.origin,
                "Cookie": f"sessionid={self.trader['sessionid']}",
            },
            proxy=None,
            open_timeout=60,
            ping_interval=None,  # the app's own heartbeat is what the server checks
        )
        self.reader = asyncio.create_task(self._read())
        await self.ws.send(json.dumps({"type": "subscribe", "channels": list(CHANNELS)}))
        await asyncio.wait_for(self.ready.wait(), timeout=60)

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        pending = set(CHANNELS)
        try:
            async for message in self.ws:
                arrived = time.time()
                frame = json.loads(message)
                kind = frame["type"]
                if kind == "ping":
                    await self.ws.send('{"type":"pong"}')
                elif kind == "snapshot":
                    self.last_seq[frame["channel"]] = frame["seq"]
                    pending.discard(frame["channel"])
                    if not pending:
                        self.ready.set()
                elif kind == "batch" or kind in EVENT_TYPES:
                    self._event(frame, kind, arrived)
                elif kind == "error":
                    self.errors.append(frame["code"])
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code

    def _event(self, frame: dict[str, Any], kind: str, arrived: float) -> None:
        channel = frame["channel"]
        batch = kind == "batch"
        first = frame["from_seq"] if batch else frame["seq"]
        last = self.last_seq.get(channel, 0)
        if first > last + 1:
            self.gaps += 1
            self.missing += first - last - 1
        if frame["seq"] <= last:
            self.stale += 1
        self.last_seq[channel] = max(last, frame["seq"])
        events = frame["events"] if batch else [frame]
        oldest = min(_ts(e["ts"]) for e in events)
        self.records.append(
            (arrived, channel, kind, arrived - _ts(frame["ts"]), arrived - oldest, len(events))
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        with contextlib.suppress(Exception):
            await self.reader


async def open_all(clients: list[StreamClient], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(client: StreamClient) -> None:
        async with gate:
            await client.open()

    started = time.monotonic()
    await asyncio.gather(*(one(c) for c in clients))
    return time.monotonic() - started
