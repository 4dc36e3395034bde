"""Order load for bench_orders: traders with a socket each, orders one after another or at a rate.

Each `Trader` is a logged-in session (httpx) with its own /ws/portfolio socket read by an
`OrderWatch`. `run_step` places market buys of 1 share round-robin over the traders,
either closed-loop (`rate` None: the next order as soon as one of `concurrency` slots is
free) or open-loop (order i is due at start + i / rate and waits for a free slot only when
`concurrency` are already in flight; that wait is reported as `lag_ms`).
"""

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.load import harness

CHANNELS = ["positions", "orders", "account"]
MEASURES = ("post_ms", "trade_ms", "filled_ms", "position_ms", "stream_ms", "lag_ms")


class OrderWatch:
    """Reads the socket: answers heartbeats, stamps the frames each order is waiting for."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ready = asyncio.Event()
        self.trades: dict[str, tuple[float, str]] = {}  # order id -> (arrival, ts)
        self.filled: dict[str, float] = {}
        self.position_qty: dict[str, float] = {}  # qty string -> first arrival
        self.changed = asyncio.Event()
        self.gaps = 0
        self.last_seq: dict[str, int] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        pending = set(CHANNELS)
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                arrived = time.time()
                frame = json.loads(message)
                kind = frame["type"]
                if kind == "ping":
                    await self.ws.send('{"type":"pong"}')
                    continue
                if kind == "snapshot":
                    self.last_seq[frame["channel"]] = frame["seq"]
                    pending.discard(frame["channel"])
                    if not pending:
                        self.ready.set()
                    continue
                if "seq" in frame and "channel" in frame:
                    first = frame.get("from_seq", frame["seq"])
                    if first > self.last_seq.get(frame["channel"], 0) + 1:
                        self.gaps += 1
                    self.last_seq[frame["channel"]] = max(
                        frame["seq"], self.last_seq.get(frame["channel"], 0)
                    )
                for event in frame["events"] if kind == "batch" else [frame]:
                    self._event(event, arrived)
                self.changed.set()

    def _event(self, event: dict[str, Any], arrived: float) -> None:
        data = event.get("data") or {}
        if event["type"] == "trade_executed":
            self.trades.setdefault(data["order_id"], (arrived, event["ts"]))
        elif event["type"] == "order_update" and data.get("status") == "filled":
            self.filled.setdefault(data["id"], arrived)
        elif event["type"] == "position_update":
            self.position_qty.setdefault(data["qty"], arrived)

    async def wait(self, check: Any, timeout: float) -> Any:
        async with asyncio.timeout(timeout):
            while (found := check()) is None:
                self.changed.clear()
                await self.changed.wait()
            return found


@dataclass
class Trader:
    """One signed-in trader: an HTTP session and a watched socket."""

    session: Any
    watch: OrderWatch
    held: int = 0  # shares bought so far (market buys of 1 always fill whole)


@dataclass
class StepResult:
    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def place_order(
    trader: Trader,
    url: str,
    symbol: str,
    *,
    due: float | None,
    timeout: float,
    watch_position: bool,
    out: StepResult,
) -> None:
    """POST one market buy and wait for its trade, fill (and position) on the socket."""
    sent = time.time()
    response = await trader.session.post_json(
        url, {"symbol": symbol, "side": "buy", "qty": "1", "type": "market"}
    )
    posted = time.time()
    if response.status_code != 201:
        out.failures.append(f"{response.status_code}: {response.text[:200]}")
        return
    order_id = str(response.json()["id"])
    trader.held += 1
    qty = f"{trader.held}.000000"
    watch = trader.watch
    try:
        trade_at, trade_ts = await watch.wait(lambda: watch.trades.get(order_id), timeout)
        filled_at = await watch.wait(lambda: watch.filled.get(order_id), timeout)
        position_at = (
            await watch.wait(lambda: watch.position_qty.get(qty), timeout)
            if watch_position
            else None
        )
    except TimeoutError:
        out.failures.append(f"order {order_id}: no trade/fill within {timeout}s")
        return
    out.results.append(
        {
            "post_ms": (posted - sent) * 1000,
            "trade_ms": (trade_at - sent) * 1000,
            "filled_ms": (filled_at - sent) * 1000,
            "position_ms": None if position_at is None else (position_at - sent) * 1000,
            "stream_ms": (trade_at - datetime.fromisoformat(trade_ts).timestamp()) * 1000,
            "lag_ms": None if due is None else (sent - due) * 1000,
            "done_at": trade_at,
        }
    )


async def run_step(
    traders: list[Trader],
    url: str,
    symbol: str,
    *,
    orders: int,
    concurrency: int,
    rate: float | None,
    timeout: float,
) -> StepResult:
    """Place `orders` orders; returns every order's timings and the failures."""
    out = StepResult()
    gate = asyncio.Semaphore(concurrency)
    # Positions are checked only one order at a time: concurrent fills of one trader
    # may reach the same quantity in another order than they were sent.
    watch_position = concurrency == 1
    started = time.time()
    tasks = []

    async def one(index: int, due: float | None) -> None:
        try:
            await place_order(
                traders[index % len(traders)],
                url,
                symbol,
                due=due,
                timeout=timeout,
                watch_position=watch_position,
                out=out,
            )
        finally:
            gate.release()

    for index in range(orders):
        due = None if rate is None else started + index / rate
        if due is not None and (wait := due - time.time()) > 0:
            await asyncio.sleep(wait)
        await gate.acquire()
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    return out


def step_report(out: StepResult, *, started: float, offered: float | None) -> dict[str, Any]:
    """Percentiles of every measure, the achieved rate and the failures of one step."""
    report: dict[str, Any] = {"orders_ok": len(out.results), "failures": out.failures[:20]}
    report["failure_count"] = len(out.failures)
    if out.results:
        finished = max(r["done_at"] for r in out.results)
        report["elapsed_s"] = round(finished - started, 2)
        report["orders_per_s"] = round(len(out.results) / max(finished - started, 1e-9), 2)
    report["offered_per_s"] = offered
    for key in MEASURES:
        values = [r[key] / 1000 for r in out.results if r[key] is not None]
        report[key] = harness.percentiles(values)
    return report
