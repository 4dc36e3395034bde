"""Soak of /ws/portfolio: the seed's load for a long time, watching for slow growth.

    .venv/bin/python -m tests.load.soak --minutes 60

One `manage.py serve --no-market --no-worker` on a throwaway redis-server of its own (so
that Redis's memory is this run's alone; `--redis-url` to use another) and a throwaway
SQLite database under var/bench/. 100 users with one socket each (tests/load's clients:
subscribed to every channel, answering the heartbeat) and tests/load's tick driver in its
own process at 10 ticks/s over 5 symbols every user holds: 1,000 position updates a second
(and as many account updates) through the real publisher (source `synthetic`; `--source
db` writes every mark to the database too).

Every `--sample-seconds` (10): the server's RSS, open file descriptors and CPU, Redis's
used_memory and clients, the sockets the server counts, and the clients' frames, gaps,
errors, closes and latency. After the warm-up (a fifth of the run, at most 10 minutes)
each of RSS, file descriptors and Redis memory gets a least-squares slope, reported as
growth over the measured window in % of its fitted starting value, and per hour. The
run passes when every growth is under `--max-growth-pct` (5) and no socket was closed.
The JSON report goes to stdout and `--out` (or the run directory); exit status 0 when it
passed, 2 when it did not.
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
import time
from typing import Any

from tests.load import harness
from tests.load.soak_growth import BOUNDED, growth, latency_window, open_fds, redis_memory
from tests.load.stream_clients import StreamClient, open_all
from tests.load.stream_report import final_loss_check, seq_counters

CONFIG_KEYS = (
    "minutes",
    "users",
    "rate",
    "source",
    "sample_seconds",
    "warmup_minutes",
    "max_growth_pct",
)


def start_redis(processes: Any, run_dir: Path) -> str:
    """A redis-server without persistence on a free port, stopped with the processes."""
    from tests.integration.live_server import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("the soak needs redis-server (or pass --redis-url)")
    port = free_port()
    (run_dir / "redis").mkdir()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    processes.start("redis", [*command, "--appendonly", "no", "--dir", str(run_dir / "redis")], {})
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis_memory(url)
            return url
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"redis-server on {port} did not start")


def sample(
    started: float, pid: int, redis_url: str, base_url: str, clients: list[StreamClient]
) -> dict[str, Any]:
    metrics = harness.scrape_metrics(base_url)
    counters = seq_counters(clients)
    return {
        "t": round(time.monotonic() - started, 1),
        "rss_kib": harness.process_rss_kib(pid),
        "open_fds": open_fds(pid),
        **redis_memory(redis_url),
        "server_cpu_s": round(harness.process_cpu_seconds(pid), 2),
        "server_sockets": metrics.get("portfolio_ws_connections_active"),
        "gaps": counters["gaps"],
        "errors": counters["errors"],
        "closed_sockets": counters["closed_sockets"],
        **latency_window(clients),
        "loadavg": harness.loadavg(),
    }


async def soak(options: argparse.Namespace, report: dict[str, Any], traders: list[Any]) -> None:
    from tests.integration.live_server import start_server

    run_dir: Path = options.run_dir
    processes = options.processes
    server = start_server(
        processes, "serve", redis_url=options.redis_url, prefix=options.prefix, worker=False
    )
    report["setup"]["server_ready_s"] = round(server.wait_ready(), 2)
    pid = server.child.pid
    clients = [StreamClient(t, server.ws_url, server.base_url) for t in traders]
    try:
        report["setup"]["connect_all_s"] = round(await open_all(clients, 20), 2)
        seconds = options.minutes * 60
        out = run_dir / "driver.json"
        driver = harness.run_python(
            [
                *("-m", "tests.load.bench_stream", "drive", f"--db={options.db}"),
                f"--redis-url={options.redis_url}",
                f"--prefix={options.prefix}",
                f"--source={options.source}",
                "--mode=coalesced",
                f"--rate={options.rate}",
                f"--seconds={seconds}",
                f"--symbols={','.join(harness.SYMBOLS)}",
                "--drain-timeout=60",
                f"--out={out}",
            ],
            run_dir / "driver.log",
        )
        started = time.monotonic()
        samples = report["samples"]
        readings = (started, pid, options.redis_url, server.base_url, clients)
        while driver.poll() is None:
            samples.append(await asyncio.to_thread(sample, *readings))
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
            next_at = samples[-1]["t"] + options.sample_seconds
            await asyncio.sleep(max(0.0, next_at - (time.monotonic() - started)))
            if time.monotonic() - started > seconds + 180:
                driver.kill()
                raise RuntimeError("the tick driver did not finish in time")
        if driver.returncode != 0:
            raise RuntimeError(f"driver exited {driver.returncode}: {(run_dir / 'driver.log')}")
        await asyncio.sleep(3)  # the last frames
        report["driver"] = json.loads(out.read_text())
        report["final_loss_check"] = await asyncio.to_thread(final_loss_check, clients)
        report["clients"] = seq_counters(clients)
        report["close_codes"] = sorted({c.close_code for c in clients if c.close_code})
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        processes.close()


def verdict(options: argparse.Namespace, report: dict[str, Any]) -> None:
    warmup = options.warmup_minutes * 60
    report["growth"] = growth(report["samples"], warmup)
    failures = []
    for key in BOUNDED:
        pct = report["growth"].get(key, {}).get("growth_pct")
        if pct is None or pct >= options.max_growth_pct:
            failures.append(f"{key} grew {pct} % after the warm-up")
    if report.get("clients", {}).get("closed_sockets", 1):
        failures.append(f"sockets closed: {report.get('close_codes')}")
    report["failures"] = failures
    report["passed"] = not failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="ticks/s over the 5 symbols")
    parser.add_argument("--source", choices=("synthetic", "db"), default="synthetic")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--warmup-minutes", type=float, help="default: a fifth, at most 10")
    parser.add_argument("--max-growth-pct", type=float, default=5.0)
    parser.add_argument("--redis-url", help="default: a throwaway redis-server of its own")
    parser.add_argument("--out", help="write the JSON report here too")
    options = parser.parse_args(argv)
    if options.warmup_minutes is None:
        options.warmup_minutes = min(10.0, options.minutes / 5)

    from tests.processes import Processes

    run_dir = options.run_dir = harness.new_run_dir(f"soak-{options.minutes:g}m")
    options.processes = Processes(run_dir)
    options.redis_url = options.redis_url or start_redis(options.processes, run_dir)
    options.prefix = harness.unique_prefix()
    options.db = run_dir / "bench.sqlite3"
    harness.setup_django(db_path=options.db, redis_url=options.redis_url, prefix=options.prefix)
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.orig_argv[1:]]),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": harness.loadavg()},
        "config": {key: getattr(options, key) for key in CONFIG_KEYS},
        "holder_marks_per_s_target": options.rate * options.users,
        "run_dir": str(run_dir),
        "setup": {"migrate_s": round(harness.migrate(), 2)},
        "samples": [],
    }
    try:
        traders = harness.seed_traders(options.users)
        harness.mint_sessions(traders)
        asyncio.run(soak(options, report, traders))
    finally:
        options.processes.close()
    report["machine"]["loadavg_at_end"] = harness.loadavg()
    verdict(options, report)
    text = json.dumps(report, indent=2)
    print(text)
    (Path(options.out) if options.out else run_dir / "soak.json").write_text(text)
    return 0 if report["passed"] else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
