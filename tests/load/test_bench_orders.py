"""The order-path benchmark's CI version: it runs a short ramp and reports, not a speed.

`python -m tests.load.bench_orders` with two traders (a socket each), a ramp of 5 and 10
orders/s for 2 s each and 4 in flight, the server with DEBUG off, on SQLite in the SQLite
pass and on a throwaway PostgreSQL database with two worker loops in the PostgreSQL pass
(the full runs and their numbers: docs/benchmarks.md, "Order path (2026-12-02)"). It keeps
the open loop, the ramp and the report from rotting.
"""

from pathlib import Path

import pytest

from tests.load.ci_run import on_postgres, run_benchmark

pytestmark = [pytest.mark.slow, pytest.mark.redis]

RATES = (5, 10)
SECONDS = 2


def test_bench_orders_ramps_and_reports(tmp_path: Path) -> None:
    postgres = on_postgres()
    args = ["--traders=2", "--concurrency=4", f"--ramp={','.join(map(str, RATES))}"]
    args += [f"--duration={SECONDS}", "--no-debug"]
    # Two worker loops on PostgreSQL (ORDER_WORKER_THREADS; SQLite runs one whatever is asked).
    args += ["--postgres", "--worker-threads=2"] if postgres else []
    # On PostgreSQL the benchmark creates (and drops) a database of its own on the server
    # DATABASE_URL names; on SQLite it makes its own file.
    report, stdout = run_benchmark(
        "tests.load.bench_orders", args, tmp_path / "orders.json", keep_database_url=postgres
    )
    print(stdout[-3000:])

    assert report["database"] == ("postgresql" if postgres else "sqlite")
    assert report["server_debug"] is False
    assert report["worker_threads"] == (2 if postgres else 1)
    assert report["seq_gaps"] == 0
    assert report["server_log_errors"] == []
    first = report["steps"][0]
    assert first["offered_per_s"] == RATES[0]
    assert first["failure_count"] == 0, first["failures"]
    assert first["orders_ok"] == RATES[0] * SECONDS
    for measure in ("post_ms", "trade_ms", "filled_ms", "stream_ms", "lag_ms"):
        assert first[measure]["count"] == first["orders_ok"], (measure, first[measure])
    assert first["trade_ms"]["p99"] >= first["post_ms"]["p50"] > 0
    assert first["cpu"]["cpu_pct_of_one_core"]["server"] > 0
    # A loaded CI machine may miss 250 ms; the ramp must still have judged every step.
    assert all(isinstance(step["sustained"], bool) for step in report["steps"])
    assert report["sustained_per_s"] in (None, *RATES)
    assert "sustained" in stdout and "| trade_ms |" in stdout
