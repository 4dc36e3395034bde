"""Price marks per second on the real write path, today's bulk marks beside an older revision's.

    python -m tests.load.bench_marks --traders 300 --symbols 10 --ticks 3 [--baseline-rev REV]

Seeds `traders` simulated accounts each holding every one of `symbols` symbols in a
throwaway SQLite database (or DATABASE_URL's PostgreSQL with --postgres), then applies
`ticks` price moves to every symbol with `trading.services.prices.price_apply` and reports
holder marks per second. With --baseline-rev, the same run with `price_apply` as it was at
that git revision, in the same process, on the same rows, for a side-by-side ratio. The
stream is muted (no receivers): this measures the database write path alone.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import types
from decimal import Decimal
from typing import Any

from tests.load.harness import REPO_ROOT, ensure_repo_on_path, migrate, new_run_dir

SYMBOL_POOL = (
    "AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "KO",
    "BAC", "WMT", "PG", "XOM", "DIS", "NFLX", "INTC", "CSCO", "PFE", "ORCL",
)  # fmt: skip


def _baseline(rev: str) -> Any:
    """trading/services/prices.py as it was at `rev`, as a module beside today's."""
    source = subprocess.run(
        ["git", "show", f"{rev}:trading/services/prices.py"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("baseline_prices")
    exec(compile(source, f"{rev}:trading/services/prices.py", "exec"), module.__dict__)  # noqa: S102
    return module


def _run(price_apply: Any, symbols: list[str], ticks: int, start: dict[str, Decimal]) -> dict:
    from django.utils import timezone

    marks = 0
    started = time.perf_counter()
    for tick in range(ticks):
        for symbol in symbols:
            # A new price every time, so every holder is marked.
            price = start[symbol] + Decimal(tick + 1) / 100
            marks += price_apply(symbol=symbol, price=price, at=timezone.now())
    seconds = time.perf_counter() - started
    return {"marks": marks, "seconds": round(seconds, 3), "marks_per_s": round(marks / seconds)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.bench_marks")
    parser.add_argument("--traders", type=int, default=300)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--baseline-rev", default=None, help="git revision to compare with")
    parser.add_argument("--postgres", action="store_true", help="use DATABASE_URL as given")
    options = parser.parse_args(argv)
    ensure_repo_on_path()
    os.chdir(REPO_ROOT)
    if not options.postgres:
        run_dir = new_run_dir("marks")
        os.environ["DATABASE_URL"] = f"sqlite:///{run_dir / 'bench.sqlite3'}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio_stream.settings")
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    migrate()
    from tests.load.harness import seed_traders, stream_muted
    from trading.models import Instrument
    from trading.services import prices

    symbols = list(SYMBOL_POOL[: options.symbols])
    seeded = time.perf_counter()
    seed_traders(options.traders, symbols=symbols, name=f"m{os.getpid()}")
    start = {
        symbol: price or Decimal(100)
        for symbol, price in Instrument.objects.filter(symbol__in=symbols).values_list(
            "symbol", "price"
        )
    }
    report: dict[str, Any] = {
        "traders": options.traders,
        "symbols": len(symbols),
        "ticks": options.ticks,
        "database": django.db.connection.vendor,
        "seed_seconds": round(time.perf_counter() - seeded, 1),
    }
    with stream_muted():
        report["bulk"] = _run(prices.price_apply, symbols, options.ticks, start)
        if options.baseline_rev:
            old = _baseline(options.baseline_rev)
            moved = {s: p + Decimal(1) for s, p in start.items()}  # every price moves again
            report["baseline"] = _run(old.price_apply, symbols, options.ticks, moved)
            report["baseline_rev"] = options.baseline_rev
            report["speedup"] = round(
                report["bulk"]["marks_per_s"] / report["baseline"]["marks_per_s"], 1
            )
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
