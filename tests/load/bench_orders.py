"""Order path latency: REST POST /api/orders/ -> `trade_executed` on the socket.

    .venv/bin/python -m tests.load.bench_orders --orders 50

One `manage.py serve --no-market` process with its embedded order worker, on Redis
(RedisPubSubChannelLayer, its own prefix) and a throwaway SQLite database under
var/bench/. A trader logs in through the login form (httpx), opens /ws/portfolio with the
session cookie and subscribes; then market buys of 1 AAPL are posted `--concurrency` at a
time (1: one after the other), each with the CSRF header. For every order:

- `post_ms`: the POST's response time (the order row, the queued job, the commit);
- `trade_ms`: from sending the POST to the `trade_executed` frame arriving (the headline);
- `filled_ms`: from sending the POST to the `order_update` with status `filled`;
- `position_ms`: to the position_update (or batch) showing the new quantity;
- `stream_ms`: the trade's own delivery, arrival - its `ts` (the fill's commit time).

The first `--warmup` orders (imports, first query plans) are not counted.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import contextlib
import json
import os
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.load import harness

PASSWORD = "bench-pw-1"
CHANNELS = ["positions", "orders", "account"]


def prepare(options: argparse.Namespace) -> dict[str, Any]:
    from tests.integration.live_server import live_redis_url

    run_dir = harness.new_run_dir("orders")
    options.run_dir = run_dir
    options.redis_url = live_redis_url()
    options.prefix = harness.unique_prefix()
    harness.setup_django(
        db_path=run_dir / "bench.sqlite3", redis_url=options.redis_url, prefix=options.prefix
    )
    migrate_s = harness.migrate()
    from django.contrib.auth import get_user_model

    from trading.models import Instrument
    from trading.services.accounts import account_open_simulated

    with harness.stream_muted():
        user = get_user_model().objects.create_user(username="bench-orders", password=PASSWORD)
        account_open_simulated(user=user, cash=Decimal("10000000.00"))
    price = Instrument.objects.get(symbol=options.symbol).price
    return {
        "command": " ".join([Path(sys.executable).name, *sys.orig_argv[1:]]),
        "orders": options.orders,
        "warmup": options.warmup,
        "concurrency": options.concurrency,
        "symbol": options.symbol,
        "price": str(price),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": harness.loadavg()},
        "run_dir": str(run_dir),
        "setup": {"migrate_s": round(migrate_s, 2)},
    }


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


async def run(options: argparse.Namespace, report: dict[str, Any]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    from tests.integration.live_server import login, start_server
    from tests.processes import Processes

    processes = Processes(options.run_dir)
    try:
        server = start_server(
            processes, "serve", redis_url=options.redis_url, prefix=options.prefix, worker=True
        )
        report["setup"]["server_ready_s"] = round(server.wait_ready(), 2)
        pid = server.child.pid
        session = await login(server.base_url, "bench-orders", PASSWORD)
        headers = {"Origin": server.base_url, "Cookie": session.cookie_header}
        async with connect(
            server.ws_url, additional_headers=headers, proxy=None, ping_interval=None
        ) as ws:
            watch = OrderWatch(ws)
            await ws.send(json.dumps({"type": "subscribe", "channels": CHANNELS}))
            await asyncio.wait_for(watch.ready.wait(), timeout=30)
            held = 0
            gate = asyncio.Semaphore(options.concurrency)
            results: list[dict[str, Any]] = []
            failures: list[str] = []

            async def one(index: int) -> None:
                nonlocal held
                async with gate:
                    sent = time.time()
                    response = await session.post_json(
                        f"{server.base_url}/api/orders/",
                        {"symbol": options.symbol, "side": "buy", "qty": "1", "type": "market"},
                    )
                    posted = time.time()
                    if response.status_code != 201:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                        return
                    order_id = str(response.json()["id"])
                    held += 1
                    qty = f"{held}.000000"
                    try:
                        trade_at, trade_ts = await watch.wait(
                            lambda: watch.trades.get(order_id), timeout=options.timeout
                        )
                        filled_at = await watch.wait(
                            lambda: watch.filled.get(order_id), timeout=options.timeout
                        )
                        position_at = (
                            await watch.wait(
                                lambda: watch.position_qty.get(qty), timeout=options.timeout
                            )
                            if options.concurrency == 1
                            else None
                        )
                    except TimeoutError:
                        failures.append(
                            f"order {order_id}: no trade/fill within {options.timeout}s"
                        )
                        return
                    results.append(
                        {
                            "index": index,
                            "post_ms": (posted - sent) * 1000,
                            "trade_ms": (trade_at - sent) * 1000,
                            "filled_ms": (filled_at - sent) * 1000,
                            "position_ms": None
                            if position_at is None
                            else (position_at - sent) * 1000,
                            "stream_ms": (trade_at - datetime.fromisoformat(trade_ts).timestamp())
                            * 1000,
                        }
                    )

            for index in range(options.warmup):
                await one(-1 - index)
            results.clear()
            cpu = harness.CpuWindow({"server": pid, "client": os.getpid()}).start()
            rss_before = harness.process_rss_kib(pid)
            started = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(options.orders)))
            elapsed = time.monotonic() - started
            report["cpu"] = cpu.stop()
            report["server_rss_kib"] = {"before": rss_before, "after": harness.process_rss_kib(pid)}
            report["elapsed_s"] = round(elapsed, 2)
            report["orders_per_s"] = round(len(results) / elapsed, 2)
            report["failures"] = failures
            report["seq_gaps"] = watch.gaps
            for key in ("post_ms", "trade_ms", "filled_ms", "position_ms", "stream_ms"):
                values = [r[key] / 1000 for r in results if r[key] is not None]
                report[key] = harness.percentiles(values)
            report["per_order_trade_ms"] = [round(r["trade_ms"], 1) for r in results]
            watch.task.cancel()
        await session.client.aclose()
        report["server_log_errors"] = [
            line for line in server.child.output().splitlines() if " ERROR " in line
        ][:20]
    finally:
        processes.close()
    report["machine"]["loadavg_at_end"] = harness.loadavg()
    return report


def summary(report: dict[str, Any]) -> str:
    rows = ["| measure | count | p50 ms | p95 ms | p99 ms | max ms |", "|---|---|---|---|---|---|"]
    for key in ("post_ms", "trade_ms", "filled_ms", "position_ms", "stream_ms"):
        p = report[key]
        if p["count"]:
            rows.append(
                f"| {key} | {p['count']} | {p['p50']} | {p['p95']} | {p['p99']} | {p['max']} |"
            )
    cpu = report["cpu"]
    return "\n".join(
        [
            f"{report['orders']} orders, concurrency {report['concurrency']}, "
            f"{report['orders_per_s']} orders/s, failures {len(report['failures'])}, "
            f"seq gaps {report['seq_gaps']}; CPU % of one core {cpu['cpu_pct_of_one_core']}, "
            f"other processes {cpu['others_cores_busy']} cores, load {cpu['loadavg_before']}",
            "",
            *rows,
        ]
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.bench_orders", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--symbol", default="AAPL")
    parser.add_argument("--timeout", type=float, default=10.0, help="per order")
    parser.add_argument("--out", help="write the JSON report here too")
    options = parser.parse_args(argv)
    report = asyncio.run(run(options, prepare(options)))
    text = json.dumps(report, indent=2)
    print(text)
    target = Path(options.out) if options.out else Path(report["run_dir"]) / "report.json"
    target.write_text(text)
    print(summary(report))
    print(f"report: {target}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
