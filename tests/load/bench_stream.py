"""Fan-out benchmark of /ws/portfolio: N users x 1 socket, price ticks from another process.

    .venv/bin/python -m tests.load.bench_stream --users 100 \
        --phases db:coalesced,db:uncoalesced,synthetic:coalesced,synthetic:uncoalesced

One `manage.py serve --no-market --no-worker` process on Redis (RedisPubSubChannelLayer,
its own channel prefix) and a throwaway SQLite database under var/bench/ (or with
--postgres a throwaway PostgreSQL database). This process seeds N users holding the same
5 symbols (or with --universe U --holdings H, trader i holds H consecutive symbols of the
first U of the simulated universe, seeded in bulk as bench_marks does), mints their
sessions, opens and subscribes one socket each, then runs the phases one after another
against the same server and sockets. Each phase starts a tick driver process
(`bench_stream drive`, in stream_driver.py), which produces price ticks for `--seconds`
at up to `--rate` ticks/s, round robin over the symbols:

- source `db`: `trading.services.prices.price_apply` per symbol - the real write path
  (each tick marks one symbol's holders; domain signals, receivers, publisher). The
  database decides how many ticks a second this can do; the driver reports what it
  achieved.
- source `market`: the market loop's way (the issue's price-marks scenario with
  `--universe 30 --holdings 10`): every tick moves every symbol and applies them with one
  `trading.services.prices.prices_apply`, so each holder account is marked once a tick
  and gets a position_update per held symbol and an account_update. `rate` is ticks/s
  (1 as the market ticks); the driver's tick_apply_ms is each whole tick.
- source `synthetic`: the same events (positions marked by `position_mark`, encoded as
  the receivers encode them, seq continuing from the database's) handed to the real
  publisher as the receivers hand them, without the database write - to load the stream
  at the requested tick rate. The seqs reached are stored at the end, so the final
  loss check holds for both sources.

and one of three publisher modes:

- `coalesced`: the product (latest value per user and symbol for 1 s at the source).
- `uncoalesced`: every price-caused event is its own channel-layer message, still marked
  non-urgent, so the consumers' 1-second position window stays on: isolates the cost of
  not coalescing at the source. (A bench-only patch of the driver's publisher.)
- `unbatched`: what `publish(coalesce=False)` does (urgent): neither coalescing nor the
  consumer's window. Clients get one frame per event.

Measured per phase: client-side delivery latency (arrival - frame `ts`; for a batch the
newest event's ts, "oldest" = its oldest surviving event), frames per client per second
per channel, seq gaps and stale frames, server-side delivery latency and frames sent (from
the server's /metrics), CPU of server / client / driver and of the rest of the machine,
server RSS. At the end every socket's last seq per channel is compared with the
database's: anything short of it was lost.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import json
import os
import time
from typing import Any

from tests.load import harness
from tests.load.reporting import report_publish
from tests.load.stream_clients import StreamClient, open_all
from tests.load.stream_driver import MODES, SOURCES, drive
from tests.load.stream_report import (
    analyse,
    delta,
    final_loss_check,
    sent_by_type,
    seq_counters,
    summary,
)


async def wait_process(process: Any, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the tick driver did not finish in time")
        await asyncio.sleep(0.1)
    return int(process.returncode)


def prepare(options: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The database, its users and their sessions (synchronous: the ORM)."""
    from tests.integration.live_server import live_redis_url

    run_dir = harness.new_run_dir(f"stream-{options.users}")
    options.run_dir = run_dir
    options.redis_url = live_redis_url()
    options.prefix_of_run = harness.unique_prefix()
    options.database_url = ""
    if options.postgres:
        options.pg_server = harness.postgres_server_url()
        options.pg_name = f"bench_stream_{os.getpid()}"
        options.database_url = harness.postgres_database_create(options.pg_server, options.pg_name)
    harness.setup_django(
        db_path=run_dir / "bench.sqlite3",
        redis_url=options.redis_url,
        prefix=options.prefix_of_run,
        database_url=options.database_url or None,
    )
    options.symbols = list(harness.SYMBOLS)
    if options.universe:
        from trading.broker.simulated.market import UNIVERSE

        options.symbols = [row[0] for row in UNIVERSE[: options.universe]]
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.orig_argv[1:]]),
        "users": options.users,
        "database": "postgresql" if options.postgres else "sqlite",
        "symbols": options.symbols,
        "holdings_per_user": options.holdings if options.universe else len(options.symbols),
        "seconds_per_phase": options.seconds,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": harness.loadavg()},
        "run_dir": str(run_dir),
    }
    timings: dict[str, float] = {"migrate_s": harness.migrate()}
    began = time.monotonic()
    if options.universe:
        traders = seed_holders(options.users, options.holdings, options.symbols)
    else:
        traders = harness.seed_traders(options.users)
    timings["seed_s"] = time.monotonic() - began
    began = time.monotonic()
    harness.mint_sessions(traders)
    timings["sessions_s"] = time.monotonic() - began
    report["setup"] = {k: round(v, 2) for k, v in timings.items()}
    return report, traders


def seed_holders(users: int, holdings: int, symbols: list[str]) -> list[dict[str, Any]]:
    """bench_marks' traders (user i holds `holdings` consecutive `symbols`, wrapping), in
    bulk; returns [{user_id, account_id, username}] in account order."""
    from tests.load.bench_marks import seed
    from trading.models import BrokerAccount
    from trading.services.accounts import trading_day_today

    seed(users, holdings, symbols, trading_day_today())
    rows = BrokerAccount.objects.order_by("pk").values_list("pk", "user_id", "user__username")
    return [{"user_id": u, "account_id": a, "username": n} for a, u, n in rows]


async def orchestrate(
    options: argparse.Namespace, report: dict[str, Any], traders: list[dict[str, Any]]
) -> dict[str, Any]:
    from tests.integration.live_server import start_server
    from tests.processes import Processes

    run_dir: Path = options.run_dir
    redis_url: str = options.redis_url
    prefix: str = options.prefix_of_run
    timings = report["setup"]
    processes = Processes(run_dir)
    clients: list[StreamClient] = []
    try:
        server = start_server(processes, "serve", redis_url=redis_url, prefix=prefix, worker=False)
        timings["server_ready_s"] = round(server.wait_ready(), 2)
        pid = server.child.pid
        sampler = harness.CpuSampler({"server": pid, "clients": os.getpid()})
        options.sampler = sampler
        sampling = asyncio.create_task(sampler.run())
        # Warm up (imports, first snapshot, first query plans) with one socket, then measure.
        warm = StreamClient(traders[0], server.ws_url, server.base_url)
        await warm.open()
        await warm.close()
        await asyncio.sleep(2)
        rss_before = harness.process_rss_kib(pid)
        clients = [StreamClient(t, server.ws_url, server.base_url) for t in traders]
        timings["connect_all_s"] = round(await open_all(clients, options.connect_concurrency), 2)
        await asyncio.sleep(2)
        rss_after = harness.process_rss_kib(pid)
        report["server_memory"] = {
            "rss_before_connect_kib": rss_before,
            "rss_after_connect_kib": rss_after,
            "kib_per_connection": round((rss_after - rss_before) / len(clients), 1),
        }
        report["phases"] = []
        for number, phase in enumerate(options.phases.split(",")):
            source, mode = phase.split(":")[:2]
            rate = float(phase.split(":")[2]) if phase.count(":") == 2 else options.rate
            report["phases"].append(
                await run_phase(options, run_dir, server, clients, number, source, mode, rate)
            )
            print(json.dumps(report["phases"][-1], indent=1), flush=True)
        report["final_loss_check"] = await asyncio.to_thread(final_loss_check, clients)
        report["server_memory"]["rss_at_end_kib"] = harness.process_rss_kib(pid)
        report["totals"] = seq_counters(clients)
        report["close_codes"] = sorted({c.close_code for c in clients if c.close_code})
        sampling.cancel()
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        processes.close()
    report["machine"]["loadavg_at_end"] = harness.loadavg()
    return report


async def run_phase(
    options: argparse.Namespace,
    run_dir: Path,
    server: Any,
    clients: list[StreamClient],
    number: int,
    source: str,
    mode: str,
    rate: float,
) -> dict[str, Any]:
    assert source in SOURCES and mode in MODES, (source, mode)
    out = run_dir / f"driver-{number}-{source}-{mode}.json"
    metrics_before = harness.scrape_metrics(server.base_url)
    seq_before = seq_counters(clients)
    cpu = harness.CpuWindow({"server": server.child.pid, "clients": os.getpid()}).start()
    driver = harness.run_python(
        [
            "-m",
            "tests.load.bench_stream",
            "drive",
            f"--db={run_dir / 'bench.sqlite3'}",
            f"--database-url={options.database_url}",
            f"--redis-url={os.environ['REDIS_URL']}",
            f"--prefix={options.prefix_of_run}",
            f"--source={source}",
            f"--mode={mode}",
            f"--rate={rate}",
            f"--seconds={options.seconds}",
            f"--symbols={','.join(options.symbols)}",
            f"--seed={number}",
            f"--drain-timeout={options.drain_timeout}",
            f"--out={out}",
        ],
        run_dir / f"driver-{number}.log",
    )
    code = await wait_process(driver, timeout=options.seconds + options.drain_timeout + 60)
    if code != 0:
        log = (run_dir / f"driver-{number}.log").read_text()
        raise RuntimeError(f"driver exited {code}:\n{log}")
    await asyncio.sleep(options.drain)
    driven = json.loads(out.read_text())
    usage = cpu.stop({"driver": driven["driver_cpu_s"]})
    ticking = options.sampler.window(driven["t_start"], driven["t_end"])
    ticking["cpu_pct_of_one_core"]["driver"] = driven["driver_cpu_pct_of_one_core"]
    ticking["others_cores_busy"] = round(
        max(
            0.0, ticking["machine_busy_cores"] - sum(ticking["cpu_pct_of_one_core"].values()) / 100
        ),
        2,
    )
    metrics_after = harness.scrape_metrics(server.base_url)
    window = (driven["t_start"], time.time())
    steady = (driven["t_start"] + 3.0, driven["t_end"])
    return {
        "phase": f"{source}:{mode}",
        "driver": driven,
        "clients": analyse(clients, window, steady),
        "seq": delta(seq_counters(clients), seq_before),
        "server_frames_sent": sent_by_type(metrics_before, metrics_after),
        "server_delivery_latency": harness.histogram_quantiles(
            metrics_before,
            metrics_after,
            "portfolio_ws_delivery_latency_seconds",
            (0.5, 0.95, 0.99),
        ),
        "cpu_while_ticking": ticking,
        "cpu_whole_phase": usage,
        "server_rss_kib": harness.process_rss_kib(server.child.pid),
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["drive"]:
        parser = argparse.ArgumentParser(prog="bench_stream drive")
        parser.add_argument("--db", required=True)
        parser.add_argument("--database-url", default="")
        parser.add_argument("--redis-url", required=True)
        parser.add_argument("--prefix", required=True)
        parser.add_argument("--source", choices=SOURCES, default="db")
        parser.add_argument("--mode", choices=MODES, default="coalesced")
        parser.add_argument("--rate", type=float, default=50.0)
        parser.add_argument("--seconds", type=float, default=20.0)
        parser.add_argument("--symbols", default=",".join(harness.SYMBOLS))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--drain-timeout", type=float, default=60.0)
        parser.add_argument("--out", required=True)
        drive(parser.parse_args(argv[1:]))
        return
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.bench_stream", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--phases",
        default="db:coalesced,db:uncoalesced",
        help="comma-separated source:mode[:rate] (sources: db, market, synthetic; "
        "modes: coalesced, uncoalesced, unbatched)",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="target ticks/s (all symbols)")
    parser.add_argument("--seconds", type=float, default=20.0, help="ticking time per phase")
    parser.add_argument("--drain", type=float, default=3.0, help="listening after a phase")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=60.0,
        help="longest wait for the driver's publisher backlog after the ticks end",
    )
    parser.add_argument("--connect-concurrency", type=int, default=20)
    parser.add_argument(
        "--universe", type=int, default=0, help="symbols of the simulated universe held (0: 5)"
    )
    parser.add_argument("--holdings", type=int, default=10, help="with --universe: per user")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    parser.add_argument("--out", help="write the JSON report here too")
    options = parser.parse_args(argv)
    try:
        report, traders = prepare(options)
        report = asyncio.run(orchestrate(options, report, traders))
    finally:
        if options.postgres and getattr(options, "pg_name", None):
            from django.db import connections

            connections.close_all()
            harness.postgres_database_drop(options.pg_server, options.pg_name)
    report_publish(report, options.out, summary(report), echo_json=True)


if __name__ == "__main__":
    main(sys.argv[1:])
