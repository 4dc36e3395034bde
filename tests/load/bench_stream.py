"""Fan-out benchmark of /ws/portfolio: N users x 1 socket, price ticks from another process.

    .venv/bin/python -m tests.load.bench_stream --users 100 \
        --phases db:coalesced,db:uncoalesced,synthetic:coalesced,synthetic:uncoalesced

One `manage.py serve --no-market --no-worker` process on Redis (RedisPubSubChannelLayer,
its own channel prefix) and a throwaway SQLite database under var/bench/. This process
seeds N users holding the same 5 symbols, mints their sessions, opens and subscribes one
socket each, then runs the phases one after another against the same server and sockets.
Each phase starts a tick driver process (`bench_stream drive`, below), which produces price
ticks for `--seconds` at up to `--rate` ticks/s, round robin over the 5 symbols:

- source `db`: `trading.services.prices.price_apply` - the real write path (a transaction
  per holder per tick, domain signals, receivers, publisher). The database decides how many
  ticks a second this can do; the driver reports what it achieved.
- source `synthetic`: the same events (positions marked by `position_mark`, built by the
  realtime event factories, seq continuing from the database's) handed to the real
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
import contextlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.load import harness

CHANNELS = ("positions", "orders", "account")
EVENT_TYPES = frozenset({"position_update", "order_update", "account_update", "trade_executed"})
MODES = ("coalesced", "uncoalesced", "unbatched")
SOURCES = ("db", "synthetic")


# --- The tick driver (its own process) ---------------------------------------------------------


def _install_mode(mode: str) -> None:
    """Make this process's publisher send price-caused events the `mode` way."""
    from realtime.publisher import Publisher, publisher

    if mode == "coalesced":
        return

    def accept(user_id: int, event: Any, coalesce: bool) -> None:
        if coalesce and mode == "uncoalesced":
            # One message per event, as non-urgent as a coalesced one would have been.
            Publisher._flush(publisher, (user_id, event.channel))
            publisher._send_event(user_id, event, urgent=False)
        else:
            Publisher._accept(publisher, user_id, event, False)

    publisher._accept = accept  # type: ignore[method-assign]


def _publisher_drained(timeout: float) -> tuple[float, int]:
    """Flush the source buffers and wait until the sender has handed everything to Redis.

    Returns the seconds it took and how many messages were still queued at `timeout`
    (those die with this process: lost, as they would be in a crashed publisher).
    """
    from realtime.publisher import publisher

    started = time.monotonic()
    publisher.flush()
    left = 0
    while True:
        queue = publisher._queue
        left = 0 if queue is None else queue.qsize()
        if left == 0 or time.monotonic() - started > timeout:
            break
        time.sleep(0.02)
    time.sleep(0.2)  # the last group_send in flight
    return time.monotonic() - started, left


class PriceWalk:
    def __init__(self, prices: dict[str, Decimal], seed: int) -> None:
        self.prices = dict(prices)
        self.random = random.Random(seed)

    def next(self, symbol: str) -> Decimal:
        old = self.prices[symbol]
        step = Decimal(str(round(self.random.uniform(-0.002, 0.002), 5)))
        new = (old * (1 + step)).quantize(Decimal("0.01"))
        if new == old:
            new += Decimal("0.01")
        self.prices[symbol] = new
        return new


def drive(options: argparse.Namespace) -> None:
    harness.setup_django(
        db_path=Path(options.db), redis_url=options.redis_url, prefix=options.prefix
    )
    from django.utils import timezone

    from realtime import stats
    from realtime.publisher import publisher
    from trading import signals
    from trading.models import Instrument

    symbols = options.symbols.split(",")
    instruments = Instrument.objects.filter(symbol__in=symbols)
    walk = PriceWalk({i.symbol: i.price or Decimal(100) for i in instruments}, seed=options.seed)
    prev_close = {i.symbol: i.prev_close for i in instruments}
    _install_mode(options.mode)
    produced = {"position_update": 0, "account_update": 0}

    def count_position(**kwargs: Any) -> None:
        if kwargs.get("cause") == "price":
            produced["position_update"] += 1

    def count_account(**kwargs: Any) -> None:
        if kwargs.get("cause") == "price":
            produced["account_update"] += 1

    signals.position_changed.connect(count_position, weak=False)
    signals.account_changed.connect(count_account, weak=False)
    synthetic = SyntheticSource(symbols) if options.source == "synthetic" else None
    publisher._ensure_loop()  # start the sender before the clock starts

    from trading.services.prices import price_apply

    tick_seconds: list[float] = []
    marks = 0
    late = 0
    cpu_started = time.process_time()
    t_start = time.time()
    clock = time.monotonic()
    deadline = clock + options.seconds
    index = 0
    while True:
        due = clock + index / options.rate
        now = time.monotonic()
        if due >= deadline or now >= deadline:
            break
        if due > now:
            time.sleep(due - now)
        elif now - due > 1.0:
            late += 1
        symbol = symbols[index % len(symbols)]
        price = walk.next(symbol)
        began = time.monotonic()
        if synthetic is not None:
            marks += synthetic.tick(symbol, price, prev_close[symbol], timezone.now(), produced)
        else:
            marks += price_apply(symbol=symbol, price=price, at=timezone.now())
        tick_seconds.append(time.monotonic() - began)
        index += 1
    t_end = time.time()
    elapsed = time.monotonic() - clock
    drain_seconds, undelivered = _publisher_drained(timeout=options.drain_timeout)
    if synthetic is not None:
        synthetic.store_seqs()
    counters = stats.stats_snapshot()
    events = sum(produced.values())
    result = {
        "source": options.source,
        "mode": options.mode,
        "target_ticks_per_s": options.rate,
        "t_start": t_start,
        "t_end": t_end,
        "ticks": index,
        "achieved_ticks_per_s": round(index / elapsed, 2),
        "late_ticks_over_1s": late,
        "holder_marks": marks,
        "holder_marks_per_s": round(marks / elapsed, 1),
        "tick_apply_ms": harness.percentiles(tick_seconds),
        "domain_events": produced,
        "domain_events_per_s": round(events / elapsed, 1),
        "layer_messages": int(counters["published"]),
        "layer_messages_per_s": round(counters["published"] / elapsed, 1),
        "coalesced_away": int(counters["coalesced"]),
        "publish_failures": int(counters["publish_failures"]),
        "events_per_layer_message": round(events / max(1.0, counters["published"]), 2),
        "publisher_drain_s": round(drain_seconds, 2),
        "publisher_queue_left_at_exit": undelivered,
        "driver_cpu_s": round(time.process_time() - cpu_started, 2),
        "driver_cpu_pct_of_one_core": round(
            100 * (time.process_time() - cpu_started) / (elapsed + drain_seconds), 1
        ),
    }
    Path(options.out).write_text(json.dumps(result, indent=2))


class SyntheticSource:
    """Price-caused events for every holder of a symbol, built and published the way
    realtime.receivers does after price_apply commits, minus the database write."""

    def __init__(self, symbols: list[str]) -> None:
        from trading.models import BrokerAccount, Position

        self.accounts = BrokerAccount.objects.select_related("user").in_bulk()
        self.holders: dict[str, list[Any]] = {s: [] for s in symbols}
        for position in Position.objects.filter(symbol__in=symbols).order_by("account_id"):
            position.account = self.accounts[position.account_id]
            self.holders[position.symbol].append(position)

    def tick(
        self,
        symbol: str,
        price: Decimal,
        prev_close: Decimal | None,
        at: datetime,
        produced: dict[str, int],
    ) -> int:
        from realtime.events import create_account_update_event, create_position_update_event
        from realtime.publisher import publisher
        from trading.services.positions import position_mark

        for position in self.holders[symbol]:
            account = position.account
            position_mark(position, price, prev_close)
            account.positions_seq += 1
            event = create_position_update_event(position, seq=account.positions_seq, ts=at)
            publisher.publish(account.user_id, event, coalesce=True)
            account.account_seq += 1
            update = create_account_update_event(account, seq=account.account_seq, ts=at)
            publisher.publish(account.user_id, update, coalesce=True)
        produced["position_update"] += len(self.holders[symbol])
        produced["account_update"] += len(self.holders[symbol])
        return len(self.holders[symbol])

    def store_seqs(self) -> None:
        from django.db import transaction

        from trading.models import BrokerAccount

        with transaction.atomic():
            for account in self.accounts.values():
                BrokerAccount.objects.filter(pk=account.pk).update(
                    positions_seq=account.positions_seq, account_seq=account.account_seq
                )


# --- The sockets ---------------------------------------------------------------------------------


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


def analyse(
    clients: list[StreamClient], window: tuple[float, float], steady: tuple[float, float]
) -> dict[str, Any]:
    """Latency of every position/account frame that arrived in `window`; frame rates in
    `steady` (the window without its first seconds, while the 1 s windows fill up)."""
    result: dict[str, Any] = {}
    steady_seconds = max(0.001, steady[1] - steady[0])
    for channel in ("positions", "account"):
        newest: list[float] = []
        oldest: list[float] = []
        frames_steady = 0
        events_steady = 0
        batches = 0
        per_client_rates = []
        intervals: list[float] = []
        for client in clients:
            mine = 0
            previous: float | None = None
            for arrived, ch, kind, lat_new, lat_old, n in client.records:
                if ch != channel or not window[0] <= arrived <= window[1]:
                    continue
                newest.append(lat_new)
                oldest.append(lat_old)
                batches += kind == "batch"
                if steady[0] <= arrived <= steady[1]:
                    frames_steady += 1
                    events_steady += n
                    mine += 1
                    if previous is not None:
                        intervals.append(arrived - previous)
                    previous = arrived
            per_client_rates.append(mine / steady_seconds)
        per_client_rates.sort()
        result[channel] = {
            "latency_newest_ms": harness.percentiles(newest),
            "latency_oldest_ms": harness.percentiles(oldest),
            "frames": len(newest),
            "batch_frames": batches,
            "frames_per_client_per_s": round(frames_steady / steady_seconds / len(clients), 2),
            "frames_per_client_per_s_max": round(per_client_rates[-1], 2),
            "events_per_frame": round(events_steady / max(1, frames_steady), 2),
            # Time between one socket's consecutive frames of this channel.
            "frame_interval_ms": harness.percentiles(intervals),
        }
    return result


def _seq_counters(clients: list[StreamClient]) -> dict[str, int]:
    return {
        "gaps": sum(c.gaps for c in clients),
        "missing_seqs": sum(c.missing for c in clients),
        "stale_frames": sum(c.stale for c in clients),
        "errors": sum(len(c.errors) for c in clients),
        "closed_sockets": sum(c.close_code is not None for c in clients),
    }


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after}


def _sent_by_type(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    prefix = "portfolio_ws_messages_sent_total{"
    sent = {}
    for key, value in after.items():
        if key.startswith(prefix):
            kind = key[len(prefix) :].split('"')[1]
            sent[kind] = int(value - before.get(key, 0.0))
    return {kind: count for kind, count in sent.items() if count}


async def wait_process(process: Any, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the tick driver did not finish in time")
        await asyncio.sleep(0.1)
    return int(process.returncode)


def final_loss_check(clients: list[StreamClient]) -> dict[str, Any]:
    """Each socket's last seq per channel against the database's: short of it = lost."""
    from trading.models import BrokerAccount

    seqs = {
        pk: {"positions": p, "orders": o, "account": a}
        for pk, p, o, a in BrokerAccount.objects.values_list(
            "pk", "positions_seq", "orders_seq", "account_seq"
        )
    }
    behind = 0
    behind_by = 0
    ahead = 0
    for client in clients:
        expected = seqs[client.trader["account_id"]]
        for channel in CHANNELS:
            seen = client.last_seq.get(channel, -1)
            if seen < expected[channel]:
                behind += 1
                behind_by += expected[channel] - seen
            elif seen > expected[channel]:
                ahead += 1
    return {
        "sockets_x_channels_checked": len(clients) * len(CHANNELS),
        "behind_database": behind,
        "seqs_behind_total": behind_by,
        "ahead_of_database": ahead,
    }


def prepare(options: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The database, its users and their sessions (synchronous: the ORM)."""
    from tests.integration.live_server import live_redis_url

    run_dir = harness.new_run_dir(f"stream-{options.users}")
    options.run_dir = run_dir
    options.redis_url = live_redis_url()
    options.prefix_of_run = harness.unique_prefix()
    harness.setup_django(
        db_path=run_dir / "bench.sqlite3",
        redis_url=options.redis_url,
        prefix=options.prefix_of_run,
    )
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.orig_argv[1:]]),
        "users": options.users,
        "symbols": list(harness.SYMBOLS),
        "seconds_per_phase": options.seconds,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": harness.loadavg()},
        "run_dir": str(run_dir),
    }
    timings: dict[str, float] = {"migrate_s": harness.migrate()}
    began = time.monotonic()
    traders = harness.seed_traders(options.users)
    timings["seed_s"] = time.monotonic() - began
    began = time.monotonic()
    harness.mint_sessions(traders)
    timings["sessions_s"] = time.monotonic() - began
    report["setup"] = {k: round(v, 2) for k, v in timings.items()}
    return report, traders


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
        report["totals"] = _seq_counters(clients)
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
    seq_before = _seq_counters(clients)
    cpu = harness.CpuWindow({"server": server.child.pid, "clients": os.getpid()}).start()
    driver = harness.run_python(
        [
            "-m",
            "tests.load.bench_stream",
            "drive",
            f"--db={run_dir / 'bench.sqlite3'}",
            f"--redis-url={os.environ['REDIS_URL']}",
            f"--prefix={options.prefix_of_run}",
            f"--source={source}",
            f"--mode={mode}",
            f"--rate={rate}",
            f"--seconds={options.seconds}",
            f"--symbols={','.join(harness.SYMBOLS)}",
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
        "seq": _delta(_seq_counters(clients), seq_before),
        "server_frames_sent": _sent_by_type(metrics_before, metrics_after),
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


def summary(report: dict[str, Any]) -> str:
    """The report's headline numbers as a Markdown table (the JSON has everything)."""
    memory = report["server_memory"]
    lines = [
        f"users {report['users']}, {report['seconds_per_phase']:.0f} s per phase; "
        f"server RSS {memory['rss_before_connect_kib']} -> {memory['rss_after_connect_kib']} "
        f"KiB = {memory['kib_per_connection']} KiB/connection; setup {report['setup']}",
        "",
        "| phase | ticks/s (target) | holder marks/s | domain events/s | layer msgs/s "
        "| events/msg | pos latency p50/p95/p99 ms | acct latency p50/p95/p99 ms "
        "| pos frames/client/s | acct frames/client/s | gaps | server CPU % | driver CPU % "
        "| client CPU % | others (cores) | publisher drain s |",
        "|" + "---|" * 16,
    ]
    for phase in report["phases"]:
        d, c, cpu = phase["driver"], phase["clients"], phase["cpu_while_ticking"]
        pos, acct = c["positions"]["latency_newest_ms"], c["account"]["latency_newest_ms"]
        pct = cpu["cpu_pct_of_one_core"]

        def trio(p: dict[str, Any]) -> str:
            return f"{p.get('p50')}/{p.get('p95')}/{p.get('p99')}" if p["count"] else "-"

        lines.append(
            f"| {phase['phase']} | {d['achieved_ticks_per_s']} ({d['target_ticks_per_s']:.0f}) "
            f"| {d['holder_marks_per_s']} | {d['domain_events_per_s']} "
            f"| {d['layer_messages_per_s']} | {d['events_per_layer_message']} "
            f"| {trio(pos)} | {trio(acct)} "
            f"| {c['positions']['frames_per_client_per_s']} "
            f"| {c['account']['frames_per_client_per_s']} | {phase['seq']['gaps']} "
            f"| {pct.get('server')} | {pct.get('driver')} | {pct.get('clients')} "
            f"| {cpu['others_cores_busy']} | {d['publisher_drain_s']} |"
        )
    lines += ["", f"final loss check: {report['final_loss_check']}; totals: {report['totals']}"]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["drive"]:
        parser = argparse.ArgumentParser(prog="bench_stream drive")
        parser.add_argument("--db", required=True)
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
        help="comma-separated source:mode[:rate] (sources: db, synthetic; "
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
    parser.add_argument("--out", help="write the JSON report here too")
    options = parser.parse_args(argv)
    report, traders = prepare(options)
    report = asyncio.run(orchestrate(options, report, traders))
    text = json.dumps(report, indent=2)
    print(text)
    target = Path(options.out) if options.out else Path(report["run_dir"]) / "report.json"
    target.write_text(text)
    print(summary(report))
    print(f"report: {target}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
