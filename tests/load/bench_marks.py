"""Price marks per second as the market applies them, today's code beside an older revision's.

    python -m tests.load.bench_marks [--traders 1000 --holdings 10 --symbols 30 --ticks 5]
        [--postgres] [--events] [--baseline-rev REV] [--profile FILE]

The performance issue's scenario by default: 1,000 simulated traders each holding 10 of
30 symbols (trader i holds symbols i .. i+9, wrapping, so every symbol has ~333 holders),
and every symbol moving on every tick, applied by `trading.services.market.market_tick`
as the market loop does (marks, then the venue's open orders), so one tick is 10,000
holder marks. Reports holder marks per second (counted from the positions seqs the ticks
assigned, whatever the code under test does) and the time of each tick: a 1 s tick keeps
up when every tick takes less than 1 s.

The rows are seeded in bulk (consistent with the fill path: cost, cash, marks, balances),
in a throwaway SQLite file under var/bench/, or with --postgres a throwaway database on
DATABASE_URL's server (or the local one). With --baseline-rev, the same ticks with
`trading/services/prices.py` and `market.py` as they were at that git revision, in the
same process, on the same rows (prices keep moving), for a side-by-side ratio.

The stream is muted (no receivers) unless --events: this measures the database write path
alone. With --events the realtime receivers build every event and the publisher takes them
(in-memory layer, nobody subscribed), as in the market process.
"""

import argparse
import contextlib
import cProfile
import json
import os
import statistics
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from tests.load.harness import (
    REPO_ROOT,
    ensure_repo_on_path,
    loadavg,
    migrate,
    new_run_dir,
    postgres_database_create,
    postgres_database_drop,
    postgres_server_url,
    sqlite_url,
)

CASH = Decimal("1000000.00")
QTY = Decimal("10")


def _git_source(rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout


def _module(rev: str, path: str, name: str, old: dict[str, Any] | None = None) -> Any:
    """`path` as it was at `rev`, as a module beside today's; `old` maps module names it
    imports to their versions of that revision (swapped in while it imports)."""
    module = types.ModuleType(name)
    saved = {dep: sys.modules.get(dep) for dep in old or {}}
    sys.modules.update(old or {})
    try:
        exec(compile(_git_source(rev, path), f"{rev}:{path}", "exec"), module.__dict__)  # noqa: S102
    finally:
        for dep, previous in saved.items():
            if previous is not None:
                sys.modules[dep] = previous
    return module


def _baseline_tick(rev: str) -> Callable[[Any], int]:
    """That revision's market_tick calling that revision's price marks."""
    positions = _module(rev, "trading/services/positions.py", "baseline_positions")
    prices = _module(
        rev,
        "trading/services/prices.py",
        "baseline_prices",
        {"trading.services.positions": positions},
    )
    market = _module(
        rev, "trading/services/market.py", "baseline_market", {"trading.services.prices": prices}
    )
    return market.market_tick


class StepFeed:
    """Every symbol moves every tick, a cent up then a cent down (the feed's interface)."""

    def __init__(self, prices: dict[str, Decimal]) -> None:
        self.prices = dict(prices)
        self.steps = 0

    def rebase(self, prices: dict[str, Decimal]) -> None:
        self.prices.update({s: p for s, p in prices.items() if s in self.prices})

    def next_ticks(self) -> list[Any]:
        from trading.broker.simulated.market import PriceTick

        self.steps += 1
        step = Decimal("0.01") if self.steps % 2 else Decimal("-0.02")
        self.prices = {s: p + step for s, p in self.prices.items()}
        return [PriceTick(s, p) for s, p in self.prices.items()]


def seed(traders: int, holdings: int, symbols: list[str], today: date) -> None:
    """`traders` accounts, each holding `holdings` consecutive symbols of `symbols` (wrapping),
    as the fill path would have left them: bought at the stored price, marked, balanced."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from trading.enums import BrokerProvider
    from trading.models import BrokerAccount, Instrument, Position
    from trading.money import to_money
    from trading.services.accounts import balances_apply
    from trading.services.positions import position_mark

    stock = {i.symbol: i for i in Instrument.objects.filter(symbol__in=symbols)}
    tag = uuid.uuid4().hex[:6]
    hashed = make_password("bench-pw-1")
    with transaction.atomic():
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"m{tag}{i:05d}", password=hashed) for i in range(traders)
        )
        accounts = []
        positions = []
        for index, user in enumerate(users):
            account = BrokerAccount(
                user_id=user.pk,
                provider=BrokerProvider.SIMULATED,
                cash=CASH,
                last_equity=CASH,
                trading_day=today,
            )
            held = []
            for k in range(holdings):
                instrument = stock[symbols[(index + k) % len(symbols)]]
                price = instrument.price or Decimal(100)
                account.cash -= to_money(QTY * price)
                position = Position(account=account, symbol=instrument.symbol)
                position.qty, position.avg_entry_price = QTY, price
                position.lastday_price = price
                position_mark(position, price, instrument.prev_close)
                held.append(position)
            balances_apply(account, held, [])
            account.last_equity = account.equity
            accounts.append(account)
            positions.append(held)
        BrokerAccount.objects.bulk_create(accounts)
        for account, held in zip(accounts, positions, strict=True):
            for position in held:
                position.account = account  # now with its pk
        Position.objects.bulk_create([p for held in positions for p in held])


def _seqs() -> int:
    from django.db.models import Sum

    from trading.models import BrokerAccount

    return int(BrokerAccount.objects.aggregate(s=Sum("positions_seq"))["s"] or 0)


def run(
    tick: Callable[[Any], int], market: Any, ticks: int, profile: cProfile.Profile | None
) -> dict[str, Any]:
    """`ticks` market ticks; marks counted from the positions seqs they assigned."""
    seqs_before = _seqs()
    load_before = loadavg()
    durations = []
    cpu_started, thread_started = time.process_time(), time.thread_time()
    for _ in range(ticks):
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        tick(market)
        if profile is not None:
            profile.disable()
        durations.append(time.perf_counter() - started)
    # What the publisher still had to do when the last tick returned (its thread shares
    # the GIL with the ticks: work it had not done yet would be hidden from their times).
    drained = time.perf_counter()
    _publisher_drain()
    drain_seconds = time.perf_counter() - drained
    cpu, thread_cpu = time.process_time() - cpu_started, time.thread_time() - thread_started
    marks = _seqs() - seqs_before
    seconds = sum(durations)
    return {
        "marks": marks,
        "seconds": round(seconds, 3),
        "marks_per_s": round(marks / seconds),
        "tick_seconds": {
            "median": round(statistics.median(durations), 3),
            "max": round(max(durations), 3),
        },
        "keeps_up_at_1s": max(durations) < 1.0,
        # CPU a tick took of this process: all its threads, and the ticking thread alone
        # (PostgreSQL's own CPU is not in it).
        "cpu_seconds_per_tick": {
            "process": round(cpu / ticks, 3),
            "ticking_thread": round(thread_cpu / ticks, 3),
        },
        "publisher_drain_after_last_tick_s": round(drain_seconds, 3),
        "loadavg": [load_before, loadavg()],
    }


def _publisher_drain() -> None:
    """Wait for the publisher to send what the ticks handed it (nothing when muted)."""
    from realtime.publisher import publisher

    publisher.drain()


def _database(options: argparse.Namespace) -> tuple[str, Callable[[], None]]:
    if not options.postgres:
        return sqlite_url(new_run_dir("marks") / "bench.sqlite3"), lambda: None
    server = postgres_server_url()
    name = f"bench_marks_{os.getpid()}"
    url = postgres_database_create(server, name)

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        postgres_database_drop(server, name)

    return url, drop


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.bench_marks")
    parser.add_argument("--traders", type=int, default=1000)
    parser.add_argument("--holdings", type=int, default=10, help="symbols each trader holds")
    parser.add_argument("--symbols", type=int, default=30, help="symbols of the universe that tick")
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--baseline-rev", default=None, help="git revision to compare with")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    parser.add_argument("--events", action="store_true", help="build and publish every event")
    parser.add_argument("--profile", default=None, help="write today's ticks' cProfile here")
    options = parser.parse_args(argv)
    ensure_repo_on_path()
    os.chdir(REPO_ROOT)
    database_url, drop = _database(options)
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio_stream.settings")
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    try:
        _bench(options)
    finally:
        drop()


def _bench(options: argparse.Namespace) -> None:
    import django
    from django.db import connection

    from tests.load.harness import stream_muted
    from trading.broker.simulated.market import UNIVERSE
    from trading.models import Instrument
    from trading.services import market as market_service
    from trading.services.accounts import trading_day_today

    migrate()
    symbols = [row[0] for row in UNIVERSE[: options.symbols]]
    Instrument.objects.exclude(symbol__in=symbols).update(tradable=False)
    today = trading_day_today()
    seeded = time.perf_counter()
    seed(options.traders, options.holdings, symbols, today)
    prices = dict(Instrument.objects.filter(tradable=True).values_list("symbol", "price"))
    feed = StepFeed({s: p for s, p in prices.items() if p is not None})
    market = market_service.SimulatedMarket(feed)  # type: ignore[arg-type]
    market.trading_day = today  # the day is rolled: no roll inside the timed ticks
    report: dict[str, Any] = {
        "traders": options.traders,
        "holdings": options.holdings,
        "symbols": len(symbols),
        "ticks": options.ticks,
        "database": f"{connection.vendor} {django.VERSION[:2]}",
        "events": options.events,
        "seed_seconds": round(time.perf_counter() - seeded, 1),
    }
    profile = cProfile.Profile() if options.profile else None
    with contextlib.nullcontext() if options.events else stream_muted():
        report["today"] = run(market_service.market_tick, market, options.ticks, profile)
        if options.baseline_rev:
            old_tick = _baseline_tick(options.baseline_rev)
            report["baseline"] = run(old_tick, market, options.ticks, None)
            report["baseline_rev"] = options.baseline_rev
            report["speedup"] = round(
                report["today"]["marks_per_s"] / report["baseline"]["marks_per_s"], 1
            )
    if profile is not None:
        profile.dump_stats(options.profile)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
