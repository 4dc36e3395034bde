"""Order path latency: REST POST /api/orders/ -> `trade_executed` on the socket.

    .venv/bin/python -m tests.load.bench_orders --orders 50                  # one at a time
    .venv/bin/python -m tests.load.bench_orders --traders 10 --rate 20 --concurrency 10 \
        --duration 15                                                          # open loop
    .venv/bin/python -m tests.load.bench_orders --traders 10 --concurrency 20 \
        --ramp 20,40,60,80,100,120 --duration 10                               # find the knee
    ... --postgres                      # a throwaway database on PostgreSQL instead of SQLite
    ... --profile var/bench/x.json      # py-spy (speedscope; .txt: collapsed) of the server
    ... --no-debug                      # the server with DEBUG off, as in production
    ... --worker-threads 4              # ORDER_WORKER_THREADS: worker loops (PostgreSQL)
    ... --separate-worker               # run_order_worker in its own process (production)

One `manage.py serve --no-market` process with its embedded order worker, on Redis
(RedisPubSubChannelLayer, its own prefix) and a throwaway SQLite database under
var/bench/ (or, with --postgres, a throwaway database on DATABASE_URL's PostgreSQL server
or the local one, dropped afterwards). `--traders` traders log in through the login form
(httpx), each opens /ws/portfolio with its session cookie and subscribes; then market buys
of 1 AAPL are posted round-robin over them, each with the CSRF header (see
tests/load/order_load.py for the closed and open loops). For every order:

- `post_ms`: the POST's response time (the order row, the queued job, the commit);
- `trade_ms`: from sending the POST to the `trade_executed` frame arriving (the headline);
- `filled_ms`: from sending the POST to the `order_update` with status `filled`;
- `position_ms`: to the position_update (or batch) showing the new quantity (one at a time);
- `stream_ms`: the trade's own delivery, arrival - its `ts` (the fill's commit time);
- `lag_ms`: open loop only: how late the POST left because `concurrency` were in flight.

A ramp runs its rates one after another on the same server and stops after the first step
that is not sustained: trade_ms p99 over --p99-limit-ms (250), a failure, or under 95 % of
the offered rate achieved. `sustained_per_s` is the last rate that was.
The first `--warmup` orders (imports, first query plans) are not counted.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from decimal import Decimal
from typing import Any

from tests.load import harness
from tests.load.order_load import CHANNELS, MEASURES, OrderWatch, Trader, run_step, step_report
from tests.load.reporting import report_publish

PASSWORD = "bench-pw-1"
ACHIEVED_SHARE = 0.95


def prepare(options: argparse.Namespace) -> dict[str, Any]:
    from tests.integration.live_server import live_redis_url

    run_dir = harness.new_run_dir("orders")
    options.run_dir = run_dir
    options.redis_url = live_redis_url()
    options.prefix = harness.unique_prefix()
    database_url = None
    if options.postgres:
        options.pg_server = harness.postgres_server_url()
        options.pg_name = f"bench_orders_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        database_url = harness.postgres_database_create(options.pg_server, options.pg_name)
    harness.setup_django(
        db_path=run_dir / "bench.sqlite3",
        redis_url=options.redis_url,
        prefix=options.prefix,
        database_url=database_url,
    )
    migrate_s = harness.migrate()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from trading.models import Instrument
    from trading.services.accounts import account_open_simulated

    hashed = make_password(PASSWORD)
    with harness.stream_muted():
        for index in range(options.traders):
            user = get_user_model().objects.create(username=_username(index), password=hashed)
            account_open_simulated(user=user, cash=Decimal("10000000.00"))
    price = Instrument.objects.get(symbol=options.symbol).price
    connection.close()  # a PostgreSQL database is dropped at the end; hold nothing open
    return {
        "command": " ".join([Path(sys.executable).name, *sys.orig_argv[1:]]),
        "database": connection.vendor,
        "server_debug": not options.no_debug,
        "worker_threads": options.worker_threads or 1,
        "separate_worker": options.separate_worker,
        "traders": options.traders,
        "warmup": options.warmup,
        "concurrency": options.concurrency,
        "symbol": options.symbol,
        "price": str(price),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": harness.loadavg()},
        "run_dir": str(run_dir),
        "setup": {"migrate_s": round(migrate_s, 2)},
    }


def _username(index: int) -> str:
    return f"bench-orders-{index:03d}"


def _steps(options: argparse.Namespace) -> list[tuple[float | None, int]]:
    """(rate or None for closed loop, orders) per step."""
    if options.ramp:
        rates = [float(rate) for rate in options.ramp.split(",")]
        return [(rate, max(1, round(rate * options.duration))) for rate in rates]
    if options.rate:
        return [(options.rate, max(1, round(options.rate * options.duration)))]
    return [(None, options.orders)]


def _server_env(options: argparse.Namespace) -> dict[str, object]:
    """The server's settings beyond start_server's: production's DEBUG off, worker loops."""
    from tests.processes import production_http_env

    env: dict[str, object] = {}
    if options.no_debug:
        env.update(
            DJANGO_SETTINGS_MODULE="tests.load.settings_nodebug",
            **production_http_env(f"bench-{uuid.uuid4().hex}"),
        )
    if options.worker_threads:
        env["ORDER_WORKER_THREADS"] = options.worker_threads
    return env


def _start_worker(processes: Any, options: argparse.Namespace) -> None:
    """`run_order_worker` in a process of its own, as production runs it (not profiled)."""
    from tests.processes import child_env

    env = child_env(
        REDIS_URL=options.redis_url,
        SIMULATED_BROKER_LATENCY_SECONDS=0,
        ALPACA_DATA_API_KEY="",
        ALPACA_DATA_SECRET_KEY="",
        **_server_env(options),
    )
    if not options.no_debug:
        env["DJANGO_DEBUG"] = "1"
    launcher = [sys.executable, "-m", "tests.integration.live_server", "--prefix", options.prefix]
    processes.start("worker", [*launcher, "--", "run_order_worker"], env)


def _profiler(options: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server until SIGINT (the measured window only)."""
    if not options.profile:
        return None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    target = Path(options.profile)
    kind = "raw" if target.suffix == ".txt" else "speedscope"
    # --nonblocking: by default py-spy stops the process for every sample, which at 100 Hz
    # took a 20 orders/s run down to 15 orders/s achieved and tripled its latencies.
    command = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", kind]
    command += ["--nonblocking"]
    command += ["--output", str(target), "--threads", *(["--idle"] if options.profile_idle else [])]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _profiler_stop(profiler: subprocess.Popen[bytes] | None, report: dict[str, Any]) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)
    _, stderr = profiler.communicate(timeout=60)
    report["profile"] = stderr.decode(errors="replace").strip().splitlines()[-2:]


async def _open_traders(server: Any, count: int) -> tuple[list[Trader], list[Any]]:
    from websockets.asyncio.client import connect

    from tests.integration.live_server import login

    sessions = await asyncio.gather(
        *(login(server.base_url, _username(i), PASSWORD) for i in range(count))
    )
    traders, sockets = [], []
    for session in sessions:
        headers = {"Origin": server.base_url, "Cookie": session.cookie_header}
        ws = await connect(
            server.ws_url, additional_headers=headers, proxy=None, ping_interval=None
        )
        watch = OrderWatch(ws)
        await ws.send(json.dumps({"type": "subscribe", "channels": CHANNELS}))
        await asyncio.wait_for(watch.ready.wait(), timeout=30)
        traders.append(Trader(session, watch))
        sockets.append(ws)
    return traders, sockets


def _sustained(step: dict[str, Any], limit_ms: float) -> bool:
    offered = step["offered_per_s"]
    achieved = step.get("orders_per_s", 0.0)
    return (
        step["failure_count"] == 0
        and step["trade_ms"].get("p99", float("inf")) <= limit_ms
        and (offered is None or achieved >= ACHIEVED_SHARE * offered)
    )


async def run(options: argparse.Namespace, report: dict[str, Any]) -> dict[str, Any]:
    from tests.integration.live_server import start_server
    from tests.processes import Processes

    processes = Processes(options.run_dir)
    try:
        server = start_server(
            processes,
            "serve",
            redis_url=options.redis_url,
            prefix=options.prefix,
            worker=not options.separate_worker,
            env=_server_env(options),
        )
        if options.separate_worker:
            _start_worker(processes, options)
        report["setup"]["server_ready_s"] = round(server.wait_ready(), 2)
        pid = server.child.pid
        traders, sockets = await _open_traders(server, options.traders)
        url = f"{server.base_url}/api/orders/"
        await run_step(traders, url, options.symbol, orders=options.warmup,
                       concurrency=1, rate=None, timeout=options.timeout)  # fmt: skip
        report["steps"] = []
        profiler = _profiler(options, pid)
        for rate, orders in _steps(options):
            cpu = harness.CpuWindow({"server": pid, "client": os.getpid()}).start()
            rss_before = harness.process_rss_kib(pid)
            started = time.time()
            out = await run_step(traders, url, options.symbol, orders=orders,
                                 concurrency=options.concurrency, rate=rate,
                                 timeout=options.timeout)  # fmt: skip
            step = step_report(out, started=started, offered=rate)
            step["cpu"] = cpu.stop()
            step["server_rss_kib"] = {"before": rss_before, "after": harness.process_rss_kib(pid)}
            step["sustained"] = _sustained(step, options.p99_limit_ms)
            report["steps"].append(step)
            print(_step_line(step), file=sys.stderr, flush=True)
            if options.ramp and not step["sustained"]:
                break
        _profiler_stop(profiler, report)
        sustained = [s["offered_per_s"] for s in report["steps"] if s["sustained"]]
        report["sustained_per_s"] = max(sustained, default=None) if options.ramp else None
        report["seq_gaps"] = sum(trader.watch.gaps for trader in traders)
        for trader, ws in zip(traders, sockets, strict=True):
            trader.watch.task.cancel()
            await ws.close()
            await trader.session.client.aclose()
        report["server_log_errors"] = [
            line for line in server.child.output().splitlines() if " ERROR " in line
        ][:20]
    finally:
        processes.close()
        if options.postgres:
            harness.postgres_database_drop(options.pg_server, options.pg_name)
    report["machine"]["loadavg_at_end"] = harness.loadavg()
    return report


def _step_line(step: dict[str, Any]) -> str:
    trade = step["trade_ms"]
    return (
        f"offered {step['offered_per_s'] or 'closed loop'}: {step.get('orders_per_s')} orders/s, "
        f"trade_ms p50/p95/p99 {trade.get('p50')}/{trade.get('p95')}/{trade.get('p99')}, "
        f"failures {step['failure_count']}, server CPU "
        f"{step['cpu']['cpu_pct_of_one_core'].get('server')} %"
    )


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"{report['database']}, {report['traders']} traders, concurrency "
        f"{report['concurrency']}, seq gaps {report['seq_gaps']}, sustained "
        f"{report['sustained_per_s']} orders/s"
    ]
    for step in report["steps"]:
        cpu = step["cpu"]
        lines += [
            "",
            f"offered {step['offered_per_s'] or 'closed loop'}: {step.get('orders_per_s')} "
            f"orders/s, failures {step['failure_count']}; CPU % of one core "
            f"{cpu['cpu_pct_of_one_core']}, other processes {cpu['others_cores_busy']} cores, "
            f"load {cpu['loadavg_before']}",
            "",
            "| measure | count | p50 ms | p95 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|",
        ]
        for key in MEASURES:
            p = step[key]
            if p["count"]:
                lines.append(
                    f"| {key} | {p['count']} | {p['p50']} | {p['p95']} | {p['p99']} | {p['max']} |"
                )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.bench_orders", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--orders", type=int, default=50, help="closed loop: how many")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1, help="orders in flight at most")
    parser.add_argument("--traders", type=int, default=1, help="each with a session and socket")
    parser.add_argument("--rate", type=float, help="open loop: orders per second offered")
    parser.add_argument("--ramp", help="open loop, rates one after another: 20,40,60")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per rate")
    parser.add_argument("--p99-limit-ms", type=float, default=250.0)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL db")
    parser.add_argument("--no-debug", action="store_true", help="the server with DEBUG off")
    parser.add_argument(
        "--separate-worker", action="store_true", help="run_order_worker in its own process"
    )
    parser.add_argument("--worker-threads", type=int, help="ORDER_WORKER_THREADS (PostgreSQL)")
    parser.add_argument("--profile", help="py-spy the server while measuring, to this file")
    parser.add_argument("--profile-idle", action="store_true", help="py-spy --idle")
    parser.add_argument("--symbol", default="AAPL")
    parser.add_argument("--timeout", type=float, default=10.0, help="per order")
    parser.add_argument("--out", help="write the JSON report here too")
    options = parser.parse_args(argv)
    report = asyncio.run(run(options, prepare(options)))
    report_publish(report, options.out, summary(report), echo_json=True)


if __name__ == "__main__":
    main(sys.argv[1:])
