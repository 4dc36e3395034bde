"""Fan-out side by side: the product against bare `websockets` and python-socketio, same load.

    .venv/bin/python -m tests.load.bench_fanout --sockets 1000 --rates 1000,3000,5000 --seconds 10

Four servers, each in its own process, all on the same Redis (each run its own prefix):

- `websockets`: a bare `websockets` server, SUBSCRIBE per user (tests/load/fanout_peers.py);
- `socketio`: python-socketio's AsyncServer + AsyncRedisManager under uvicorn, a room per user;
- `product`: `manage.py serve --no-market --no-worker` (daphne, the Redis PubSub layer) on a
  throwaway SQLite database under var/bench/ with N seeded users and their sessions; each
  socket subscribes to "orders";
- `product-uvicorn`: the same ASGI application, settings, environment and database under
  uvicorn, configured as the socketio peer's (tests/load/fanout_peers.py). Its channel-layer
  prefix is its own (the run's prefix + "uv"): on a shared one every product event would be
  fanned out by both product servers, each in the other's window. Its database is a copy of
  the seeded one: on a shared one each product's publisher would move the orders' seqs on
  under the other's sockets, whose next event then shows a gap and is held for the reorder
  wait (0.5 s) before the resync.

For each server the same load generator (tests/load/fanout_clients.py, `--client-processes`
processes of asyncio + `websockets` client) opens one socket per user. Then, rate by rate,
each server in turn (the order rotates per rate, so a neighbour's noise does not always
hit the same one) gets a publisher process (tests/load/fanout_driver.py) sending unbatched
order_update events round robin over the users at the offered rate for `--seconds`: the
product through its real publisher, the peers through their own Redis publishers. Latency
is arrival at the client minus the `ts` the publisher stamped (one machine, one clock).

With `--rounds N` every rate runs N times and the table shows each server's round with the
lowest p99 (a shared machine's neighbours add noise, never remove it); the JSON keeps all.
Reported per server and rate: delivered/expected, p50/p95/p99/max latency, server / client /
driver CPU, what the driver got into Redis per second; per server: RSS before the sockets,
idle with them and at the end, and the sustained rate (the highest offered rate with p99
under 200 ms and nothing lost). A Markdown table on stdout, the JSON under var/bench/.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import json
import os
import signal
import socket
import sqlite3
import threading
import time
from typing import Any

from tests.load import harness
from tests.load.fanout_report import (
    best_rounds,
    markdown,
    merge_clients,
    phase_numbers,
    sustained,
)
from tests.load.reporting import report_publish

KINDS = ("websockets", "socketio", "product", "product-uvicorn")
SETTLE_SECONDS = 2.0


def prepare(options: argparse.Namespace) -> dict[str, Any]:
    """The database, its users, their sessions and the event template (synchronous: ORM)."""
    from tests.integration.live_server import live_redis_url

    run_dir = harness.new_run_dir(f"fanout-{options.sockets}")
    options.run_dir = run_dir
    options.redis_url = live_redis_url()
    options.prefix = harness.unique_prefix()
    options.db = run_dir / "bench.sqlite3"
    harness.setup_django(db_path=options.db, redis_url=options.redis_url, prefix=options.prefix)
    from django.utils import timezone

    from realtime.events import create_order_update_event
    from trading.models import Order

    setup = {"migrate_s": round(harness.migrate(), 2)}
    began = time.monotonic()
    # One holding each: one filled order per user, the order its events describe.
    traders = harness.seed_traders(options.sockets, symbols=("AAPL",))
    harness.mint_sessions(traders)
    setup["seed_s"] = round(time.monotonic() - began, 2)
    options.users_file = run_dir / "users.json"
    options.users_file.write_text(
        json.dumps([{"user_id": t["user_id"], "sessionid": t["sessionid"]} for t in traders])
    )
    order = Order.objects.filter(account_id=traders[0]["account_id"]).first()
    assert order is not None
    event = create_order_update_event(order, seq=1, ts=timezone.now())
    options.template = run_dir / "event.json"
    options.template.write_text(json.dumps(event.model_dump(mode="json")))
    options.dbs = {kind: options.db for kind in options.kinds}
    if "product-uvicorn" in options.kinds:
        from django.db import connection

        connection.close()
        options.dbs["product-uvicorn"] = run_dir / "bench-uvicorn.sqlite3"
        source, copy = sqlite3.connect(options.db), sqlite3.connect(options.dbs["product-uvicorn"])
        source.backup(copy)
        source.close()
        copy.close()
    return setup


def wait_port(port: int, child: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited early:\n{child.output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not listen on {port}:\n{child.output()}")


def start_servers(options: argparse.Namespace, processes: Any) -> dict[str, dict[str, Any]]:
    """Every server of `options.kinds`, listening: {kind: {pid, url}}."""
    from tests.integration.live_server import LiveServer, free_port, start_server
    from tests.processes import child_env

    servers: dict[str, dict[str, Any]] = {}
    for kind in options.kinds:
        prefix = server_prefix(options, kind)
        if kind == "product":
            server = start_server(
                processes, "product", redis_url=options.redis_url, prefix=prefix, worker=False
            )
            server.wait_ready()
            servers[kind] = {"pid": server.child.pid, "url": server.ws_url, "prefix": prefix}
            continue
        port = free_port()
        args = [sys.executable, "-m", "tests.load.fanout_peers", kind, f"--port={port}"]
        args += [f"--redis-url={options.redis_url}", f"--prefix={prefix}"]
        if kind == "product-uvicorn":
            # The environment start_server gives the daphne product server, on its own
            # copy of the database.
            database_url = child_env()["DATABASE_URL"]
            assert str(options.db.resolve()) in database_url, database_url
            env = child_env(
                DATABASE_URL=database_url.replace(
                    str(options.db.resolve()), str(options.dbs[kind].resolve())
                ),
                REDIS_URL=options.redis_url,
                SIMULATED_BROKER_LATENCY_SECONDS=0,
                DJANGO_DEBUG="1",
                ALPACA_DATA_API_KEY="",
                ALPACA_DATA_SECRET_KEY="",
            )
            server = LiveServer(processes.start(kind, args, env), port)
            server.wait_ready()
            servers[kind] = {"pid": server.child.pid, "url": server.ws_url, "prefix": prefix}
            continue
        child = processes.start(kind, args, child_env())
        wait_port(port, child)
        servers[kind] = {"pid": child.pid, "url": f"ws://127.0.0.1:{port}", "prefix": prefix}
    return servers


def server_prefix(options: argparse.Namespace, kind: str) -> str:
    """The Redis prefix of `kind`'s server and publisher: one per product server."""
    return options.prefix + "uv" if kind == "product-uvicorn" else options.prefix


def open_clients(
    options: argparse.Namespace, processes: Any, kind: str, url: str
) -> list[tuple[Any, Path]]:
    """`--client-processes` load generators on one server, each with its share of users."""
    from tests.processes import child_env

    clients = []
    share = -(-options.sockets // options.client_processes)
    for number in range(options.client_processes):
        first = number * share
        count = min(share, options.sockets - first)
        ready = options.run_dir / f"clients-{kind}-{number}.ready"
        out = options.run_dir / f"clients-{kind}-{number}.json"
        args = [sys.executable, "-m", "tests.load.fanout_clients", f"--kind={kind}"]
        args += [f"--url={url}", f"--users={options.users_file}", f"--first={first}"]
        args += [f"--count={count}", f"--ready={ready}", f"--out={out}"]
        child = processes.start(f"clients-{kind}-{number}", args, child_env())
        clients.append((child, ready))
    deadline = time.monotonic() + 300
    for child, ready in clients:
        while not ready.exists():
            if not child.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{child.name} did not open its sockets:\n{child.output()}")
            time.sleep(0.2)
    return [(child, options.run_dir / f"{child.name}.json") for child, _ in clients]


class Sampling:
    """CPU of every server and client process, sampled in a thread, read per driver window."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.sampler = harness.CpuSampler(pids)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.sampler.sample()
            self.stopped.wait(self.sampler.interval)

    def window(self, kind: str, driver: dict[str, Any]) -> dict[str, Any]:
        """Percent of one core of `kind`'s server and clients while its driver published."""
        reading = self.sampler.window(driver["t_start"], driver["t_end"])
        pct = reading.get("cpu_pct_of_one_core", {})
        ours = sum(pct.values()) + driver["driver_cpu_pct_of_one_core"]
        return {
            "server_cpu_pct": pct.get(f"{kind}-server"),
            # "clients-product-" is also the start of "clients-product-uvicorn-0".
            "clients_cpu_pct": round(
                sum(v for k, v in pct.items() if k.rpartition("-")[0] == f"clients-{kind}"), 1
            ),
            # Everything else on the machine: the other servers' idle sockets, neighbours.
            "others_cores_busy": round(
                max(0.0, reading.get("machine_busy_cores", 0.0) - ours / 100), 2
            ),
        }

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def run_phase(
    options: argparse.Namespace,
    kind: str,
    rate: float,
    server: dict[str, Any],
    sampling: Sampling,
) -> dict[str, Any]:
    """One driver process at `rate` on server `kind`, then a drain; CPU while it published."""
    out = options.run_dir / f"driver-{kind}-{rate:g}.json"
    args = ["-m", "tests.load.fanout_driver", f"--kind={kind}", f"--rate={rate}"]
    args += [f"--seconds={options.seconds}", f"--users={options.users_file}"]
    args += [f"--template={options.template}", f"--redis-url={options.redis_url}"]
    args += [f"--prefix={server['prefix']}", f"--db={options.dbs[kind]}", f"--out={out}"]
    driver = harness.run_python(args, options.run_dir / f"driver-{kind}-{rate:g}.log")
    code = driver.wait(timeout=options.seconds + 180)
    if code != 0:
        log = (options.run_dir / f"driver-{kind}-{rate:g}.log").read_text()
        raise RuntimeError(f"the {kind} driver exited {code}:\n{log}")
    time.sleep(options.drain)
    driven = json.loads(out.read_text())
    return {
        "offered_per_s": rate,
        "driver": driven,
        "published_per_s": driven["published_per_s_in_window"],
        **sampling.window(kind, driven),
        "driver_cpu_pct": driven["driver_cpu_pct_of_one_core"],
        "loadavg": harness.loadavg(),
        "server_rss_kib": harness.process_rss_kib(server["pid"]),
    }


def orchestrate(options: argparse.Namespace, report: dict[str, Any]) -> None:
    from tests.processes import Processes

    processes = Processes(options.run_dir)
    try:
        servers = start_servers(options, processes)
        clients: dict[str, list[tuple[Any, Path]]] = {}
        for kind in options.kinds:
            pid = servers[kind]["pid"]
            time.sleep(SETTLE_SECONDS)
            before = harness.process_rss_kib(pid)
            clients[kind] = open_clients(options, processes, kind, servers[kind]["url"])
            time.sleep(SETTLE_SECONDS)
            idle = harness.process_rss_kib(pid)
            servers[kind]["memory"] = {
                "rss_before_sockets_kib": before,
                "rss_idle_with_sockets_kib": idle,
                "kib_per_socket": round((idle - before) / options.sockets, 1),
            }
            servers[kind]["phases"] = []
            print(f"{kind}: {options.sockets} sockets open, RSS {idle} KiB", file=sys.stderr)
        pids = {f"{kind}-server": servers[kind]["pid"] for kind in options.kinds}
        for kind in options.kinds:
            pids.update({child.name: child.pid for child, _ in clients[kind]})
        sampling = Sampling(pids)
        schedule = [(r, rate) for r in range(options.rounds) for rate in options.rates]
        for number, (round_, rate) in enumerate(schedule):
            # Rotate who goes first at each rate: a neighbour's burst should not always
            # land on the same server.
            turn = number % len(options.kinds)
            for kind in options.kinds[turn:] + options.kinds[:turn]:
                phase = run_phase(options, kind, rate, servers[kind], sampling)
                phase["round"] = round_
                servers[kind]["phases"].append(phase)
                print(f"{kind} at {rate:g}/s: {json.dumps(phase['driver'])}", file=sys.stderr)
        sampling.stop()
        for kind in options.kinds:
            servers[kind]["memory"]["rss_at_end_kib"] = harness.process_rss_kib(
                servers[kind]["pid"]
            )
            outputs = []
            for child, out in clients[kind]:
                child.kill(signal.SIGTERM)
                outputs.append(json.loads(out.read_text()))
            pairs, servers[kind]["clients"] = merge_clients(outputs)
            for phase in servers[kind]["phases"]:
                phase.update(phase_numbers(pairs, phase))
            servers[kind]["all_rounds"] = servers[kind]["phases"]
            servers[kind]["phases"] = best_rounds(servers[kind]["phases"])
            servers[kind]["sustained_per_s"] = sustained(servers[kind]["phases"])
    finally:
        processes.close()
    report["servers"] = {
        kind: {k: v for k, v in servers[kind].items() if k != "pid"} for kind in options.kinds
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.bench_fanout", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sockets", type=int, default=1000, help="users, one socket each")
    parser.add_argument(
        "--rates", default="1000,3000,5000", help="offered events/s, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time per rate")
    parser.add_argument("--drain", type=float, default=2.0, help="listening after each driver")
    parser.add_argument("--servers", default=",".join(KINDS), help="any of " + ",".join(KINDS))
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every rate this many times; the table shows each server's best round per rate",
    )
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--out", help="write the JSON report here too")
    parser.add_argument("--table", metavar="REPORT", help="only print the table of a report.json")
    options = parser.parse_args(argv)
    if options.table:
        print(markdown(json.loads(Path(options.table).read_text())))
        return
    options.rates = [float(r) for r in options.rates.split(",")]
    options.kinds = [k for k in options.servers.split(",") if k]
    assert set(options.kinds) <= set(KINDS), options.kinds
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.orig_argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "sockets": options.sockets,
        "rates": options.rates,
        "seconds": options.seconds,
        "kinds": options.kinds,
        "rounds": options.rounds,
        "client_processes": options.client_processes,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": harness.loadavg()},
    }
    report["setup"] = prepare(options)
    report["run_dir"] = str(options.run_dir)
    orchestrate(options, report)
    report["machine"]["loadavg_at_end"] = harness.loadavg()
    report_publish(report, options.out, markdown(report))


if __name__ == "__main__":
    main(sys.argv[1:])
