"""Memory of the server: RSS at start, per idle subscribed socket, and under the seed's load.

    .venv/bin/python -m tests.load.bench_memory --sockets 100,1000 --load-seconds 60 \
        [--tracemalloc 25] [--root CHECKOUT]

A throwaway redis-server of its own (`--redis-url` to use another) and SQLite database under
var/bench/; users seeded, sessions minted and sockets opened as bench_stream does (one
socket per user, subscribed to every channel, answering the heartbeat). Each phase starts
a fresh server through tests/load/memory_server.py (a plain `manage.py serve` plus a dump
on SIGUSR2) and reads its VmRSS after `--settle` seconds:

- `start`: `serve` (market and worker: the embedded mode) and `daphne` (distributed mode's
  web process), no socket.
- `idle`: `serve --no-market`; one socket opened and closed (first-use warm-up), then
  sockets opened up to each of `--sockets`: KiB per socket over the warm server. With
  `--tracemalloc F` the server traces its allocations and the dumps say where they went.
- `load`: `serve --no-market`, `--load-sockets` (100) sockets and the tick driver of
  bench_stream (source synthetic, coalesced) at `--rate` (10) ticks/s over 5 symbols every
  user holds: 1,000 position updates a second for 100 users, the soak's load. RSS every
  second; frames the clients got.

The JSON report goes to the run directory (or `--out`), a Markdown summary to stdout.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import json
import os
import signal
import subprocess
import time
from typing import Any

from tests.load import harness
from tests.load.memory_breakdown import objects_diff, traced_diff
from tests.load.memory_report import summary
from tests.load.stream_clients import StreamClient, open_all

SERVER = Path(__file__).resolve().parent / "memory_server.py"
IDLE_SYMBOLS = ("KO", "PEP", "PG", "WMT", "XOM")
# The server's and this process's (which signs the sessions): DEBUG off needs one.
SECRET_KEY = "bench-memory-not-secret-" + "x" * 40


class Server:
    """One server of a phase: started, read, dumped and stopped by the phase."""

    def __init__(self, options: argparse.Namespace, name: str, command: list[str]) -> None:
        from tests.integration.live_server import LiveServer, free_port
        from tests.processes import child_env

        port = free_port()
        self.dump_dir = options.run_dir / f"dumps-{name}"
        self.dump_dir.mkdir()
        self.dumps = 0
        launcher = [sys.executable, str(SERVER), "--prefix", options.prefix]
        launcher += ["--dump-dir", str(self.dump_dir), "--root", str(options.root)]
        if options.tracemalloc and name == "idle":
            launcher += ["--tracemalloc", str(options.tracemalloc)]
        if command[0] == "daphne":
            command = ["daphne", "-b", "127.0.0.1", "-p", str(port)]
        else:
            command = [*command, "--host", "127.0.0.1", "--port", str(port)]
        # DEBUG off by default: production's settings. DEBUG on (`make run`) also keeps
        # Django's log of the last 9,000 queries per database connection (about 5 MB).
        env = child_env(
            REDIS_URL=options.redis_url,
            DJANGO_DEBUG="1" if options.debug else "0",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_HTTPS="0",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_LEVEL="WARNING",
            SIMULATED_BROKER_LATENCY_SECONDS=0,
            ALPACA_DATA_API_KEY="",
            ALPACA_DATA_SECRET_KEY="",
        )
        child = options.processes.start(name, [*launcher, "--", *command], env)
        self.live = LiveServer(child, port)
        self.pid = child.pid
        self.ready_s = round(self.live.wait_ready(), 2)

    def rss(self) -> int:
        return harness.process_rss_kib(self.pid)

    async def dump(self) -> Path:
        """Ask for a dump (SIGUSR2) and wait for it to be written."""
        number = self.dumps
        self.dumps += 1
        os.kill(self.pid, signal.SIGUSR2)
        done = self.dump_dir / f"dump-{number}.done"
        for _ in range(1200):
            if done.exists():
                return self.dump_dir / f"dump-{number}"
            await asyncio.sleep(0.1)
        raise RuntimeError(f"no dump {number} from the server in 120 s")

    def stop(self) -> None:
        self.live.child.kill(signal.SIGTERM)


async def phase_start(options: argparse.Namespace) -> dict[str, Any]:
    result = {}
    for name, command in (("start-serve", ["serve"]), ("start-daphne", ["daphne"])):
        server = Server(options, name, command)
        await asyncio.sleep(options.settle)
        result[name] = {"ready_s": server.ready_s, "rss_kib": server.rss()}
        server.stop()
    return result


async def phase_idle(options: argparse.Namespace, traders: list[Any]) -> dict[str, Any]:
    server = Server(options, "idle", ["serve", "--no-market"])
    ws, origin = server.live.ws_url, server.live.base_url
    clients: list[StreamClient] = []
    try:
        await asyncio.sleep(options.settle)
        result: dict[str, Any] = {"rss_start_kib": server.rss(), "steps": []}
        warm = StreamClient(traders[0], ws, origin)
        await warm.open()
        await warm.close()
        await asyncio.sleep(options.settle)
        result["rss_warm_kib"] = previous_rss = server.rss()
        first = await server.dump()
        last = first
        for count in options.socket_steps:
            more = [StreamClient(t, ws, origin) for t in traders[len(clients) : count]]
            connect_s = await open_all(more, options.connect_concurrency)
            previous = len(clients)
            clients += more
            await asyncio.sleep(options.settle)
            rss = server.rss()
            last = await server.dump()
            result["steps"].append(
                {
                    "sockets": count,
                    "connect_s": round(connect_s, 2),
                    "rss_kib": rss,
                    "kib_per_socket": round((rss - result["rss_warm_kib"]) / count, 1),
                    "kib_per_socket_marginal": round((rss - previous_rss) / (count - previous), 1),
                }
            )
            previous_rss = rss
        result["closed_by_server"] = sum(c.close_code is not None for c in clients)
        sockets = len(clients)
        result["breakdown"] = objects_diff(
            first.with_suffix(".json"), last.with_suffix(".json"), sockets
        )
        if options.tracemalloc:
            result["traced"] = traced_diff(
                first.with_suffix(".tracemalloc"), last.with_suffix(".tracemalloc"), sockets
            )
        await asyncio.gather(*(c.close() for c in clients))
        clients = []
        await asyncio.sleep(options.settle)
        result["rss_after_close_kib"] = server.rss()
        return result
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        server.stop()


def start_driver(options: argparse.Namespace, out: Path) -> "subprocess.Popen[bytes]":
    """bench_stream's tick driver, from the served checkout: layer messages change between
    revisions."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.load.bench_stream", "drive"),
            f"--db={options.db}",
            f"--redis-url={options.redis_url}",
            f"--prefix={options.prefix}",
            *("--source=synthetic", "--mode=coalesced", f"--rate={options.rate}"),
            f"--seconds={options.load_seconds}",
            f"--symbols={','.join(harness.SYMBOLS)}",
            f"--out={out}",
        ],
        cwd=options.root,
        stdin=subprocess.DEVNULL,
        stdout=(options.run_dir / "driver.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


async def phase_load(options: argparse.Namespace, traders: list[Any]) -> dict[str, Any]:
    server = Server(options, "load", ["serve", "--no-market"])
    clients = [StreamClient(t, server.live.ws_url, server.live.base_url) for t in traders]
    clients = clients[: options.load_sockets]
    try:
        await asyncio.sleep(options.settle)
        result: dict[str, Any] = {"sockets": len(clients), "rss_start_kib": server.rss()}
        await open_all(clients, options.connect_concurrency)
        await asyncio.sleep(options.settle)
        result["rss_connected_kib"] = server.rss()
        out = options.run_dir / "driver.json"
        driver = start_driver(options, out)
        samples = []
        began = time.monotonic()
        while driver.poll() is None:
            samples.append((round(time.monotonic() - began, 1), server.rss()))
            await asyncio.sleep(1.0)
            if time.monotonic() - began > options.load_seconds + 120:
                driver.kill()
                raise RuntimeError("the tick driver did not finish in time")
        if driver.returncode != 0:
            raise RuntimeError(
                f"driver exited {driver.returncode}: {options.run_dir / 'driver.log'}"
            )
        await asyncio.sleep(2)  # the last frames
        driven = json.loads(out.read_text())
        frames = sum(len(c.records) for c in clients)
        result.update(
            {
                "rss_end_kib": server.rss(),
                "rss_max_kib": max([rss for _, rss in samples] or [0]),
                "rss_samples": samples,
                "ticks_per_s": driven.get("achieved_ticks_per_s"),
                "driver": {k: v for k, v in driven.items() if not isinstance(v, list | dict)},
                "frames_per_socket_per_s": round(frames / len(clients) / options.load_seconds, 2),
                "gaps": sum(c.gaps for c in clients),
                "closed_by_server": sum(c.close_code is not None for c in clients),
            }
        )
        return result
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        server.stop()


async def run(options: argparse.Namespace, report: dict[str, Any], traders: list[Any]) -> None:
    if "start" in options.phases:
        report["start"] = await phase_start(options)
    if "idle" in options.phases:
        report["idle"] = await phase_idle(options, traders)
    if "load" in options.phases:
        report["load"] = await phase_load(options, traders)


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.bench_memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sockets", default="100,1000", help="idle socket counts, ascending")
    parser.add_argument("--load-sockets", type=int, default=100)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10.0, help="ticks/s over the 5 symbols")
    parser.add_argument("--phases", default="start,idle,load")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before a reading")
    parser.add_argument("--tracemalloc", type=int, default=0, help="frames (idle phase only)")
    parser.add_argument("--debug", action="store_true", help="DJANGO_DEBUG=1 (make run's)")
    parser.add_argument("--root", type=Path, default=harness.REPO_ROOT, help="checkout served")
    parser.add_argument("--connect-concurrency", type=int, default=20)
    parser.add_argument("--redis-url", help="default: a throwaway redis-server of its own")
    parser.add_argument("--out", help="write the JSON report here too")
    options = parser.parse_args(argv)
    options.socket_steps = [int(n) for n in options.sockets.split(",")]

    from tests.load.soak import start_redis
    from tests.processes import Processes

    run_dir = options.run_dir = harness.new_run_dir("memory")
    options.processes = Processes(run_dir)
    options.prefix = harness.unique_prefix()
    options.db = run_dir / "bench.sqlite3"
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.orig_argv[1:]]),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "root": str(Path(options.root).resolve()),
        "debug": options.debug,
        "tracemalloc": options.tracemalloc,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": harness.loadavg()},
        "run_dir": str(run_dir),
    }
    try:
        options.redis_url = options.redis_url or start_redis(options.processes, run_dir)
        os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY
        harness.setup_django(db_path=options.db, redis_url=options.redis_url, prefix=options.prefix)
        report["setup"] = {"migrate_s": round(harness.migrate(), 2)}
        # Only the load phase's users hold the driver's symbols: its ticks mark every holder.
        traders = harness.seed_traders(options.load_sockets)
        extra = max(options.socket_steps) - len(traders)
        if extra > 0:
            traders += harness.seed_traders(extra, symbols=IDLE_SYMBOLS, name="idle")
        harness.mint_sessions(traders)
        asyncio.run(run(options, report, traders))
    finally:
        options.processes.close()
    report["machine"]["loadavg_at_end"] = harness.loadavg()
    text = json.dumps(report, indent=2)
    (Path(options.out) if options.out else run_dir / "report.json").write_text(text)
    print(summary(report))
    print(f"report: {run_dir / 'report.json'}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
