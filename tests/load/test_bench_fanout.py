"""The fan-out benchmark's CI version: it runs all four servers and reports, not a speed.

`python -m tests.load.bench_fanout` with 20 sockets, one rate and 2 s per server (the full
run and its numbers: docs/benchmarks.md, "Fan-out side by side"). It keeps the benchmark,
its peers (bare websockets, python-socketio), the product under uvicorn and its load
generator from rotting.
"""

from pathlib import Path

import pytest

from tests.load.ci_run import run_benchmark, sqlite_pass_only

pytestmark = [pytest.mark.slow, pytest.mark.redis]

SOCKETS = 20
RATE = 200
SECONDS = 2


def test_bench_fanout_runs_every_server_and_reports(tmp_path: Path) -> None:
    sqlite_pass_only()
    args = [f"--sockets={SOCKETS}", f"--rates={RATE}", f"--seconds={SECONDS}"]
    report, table = run_benchmark("tests.load.bench_fanout", args, tmp_path / "fanout.json")
    print(table)

    assert set(report["servers"]) == {"websockets", "socketio", "product", "product-uvicorn"}
    for kind, server in report["servers"].items():
        assert server["clients"]["sockets"] == SOCKETS, (kind, server["clients"])
        assert server["clients"]["closed_while_measuring"] == {}, (kind, server["clients"])
        memory = server["memory"]
        assert memory["rss_idle_with_sockets_kib"] > 0 and memory["rss_at_end_kib"] > 0, kind
        (phase,) = server["phases"]
        assert phase["expected"] == RATE * SECONDS, (kind, phase)
        assert phase["delivered"] == phase["expected"], (kind, phase)
        assert phase["latency_ms"]["count"] == phase["delivered"], (kind, phase)
        assert phase["latency_ms"]["p99"] >= 0, (kind, phase)
        assert phase["server_cpu_pct"] is not None, (kind, phase)
    labels = ("bare websockets", "python-socketio", "product (daphne)", "product (uvicorn)")
    for label in (*labels, "targets:"):
        assert label in table, table
