"""The fan-out benchmark's CI version: it runs all four servers and reports, not a speed.

`python -m tests.load.bench_fanout` with 20 sockets, one rate and 2 s per server (the full
run and its numbers: docs/benchmarks.md, "Fan-out side by side"). It keeps the benchmark,
its peers (bare websockets, python-socketio), the product under uvicorn and its load
generator from rotting.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.redis]

SOCKETS = 20
RATE = 200
SECONDS = 2


def test_bench_fanout_runs_every_server_and_reports(tmp_path: Path) -> None:
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        # The benchmark seeds a SQLite file of its own whatever the suite runs on: once is enough.
        pytest.skip("runs in the SQLite pass only")
    out = tmp_path / "fanout.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DATABASE_URL")}
    command = [sys.executable, "-m", "tests.load.bench_fanout", f"--sockets={SOCKETS}"]
    command += [f"--rates={RATE}", f"--seconds={SECONDS}", f"--out={out}"]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"the benchmark failed:\n{result.stderr[-5000:]}"
    report = json.loads(out.read_text())
    print(result.stdout)

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
    table = result.stdout
    labels = ("bare websockets", "python-socketio", "product (daphne)", "product (uvicorn)")
    for label in (*labels, "targets:"):
        assert label in table, table
