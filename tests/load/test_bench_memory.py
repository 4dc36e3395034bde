"""The memory benchmark's CI version: it runs every phase and reports, not a size.

`python -m tests.load.bench_memory` with 20 idle sockets (10, then 20), the load phase
with 20 sockets for 3 s and a tracemalloc breakdown (the full run and its numbers:
docs/benchmarks.md, "Memory"). It keeps the benchmark, its server launcher with the
SIGUSR2 dump and the breakdown from rotting.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import REPO_ROOT

pytestmark = [pytest.mark.slow]

SOCKETS = 20


def test_bench_memory_runs_every_phase_and_reports(tmp_path: Path) -> None:
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        # The benchmark seeds a SQLite file of its own whatever the suite runs on: once is enough.
        pytest.skip("runs in the SQLite pass only")
    out = tmp_path / "memory.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DATABASE_URL")}
    command = [sys.executable, "-m", "tests.load.bench_memory", f"--sockets=10,{SOCKETS}"]
    command += [f"--load-sockets={SOCKETS}", "--load-seconds=3", "--settle=1"]
    command += ["--tracemalloc=10", f"--out={out}"]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"the benchmark failed:\n{result.stderr[-5000:]}"
    report = json.loads(out.read_text())
    print(result.stdout)

    assert {"start-serve", "start-daphne"} == set(report["start"])
    assert all(reading["rss_kib"] > 0 for reading in report["start"].values())
    idle = report["idle"]
    assert [step["sockets"] for step in idle["steps"]] == [10, SOCKETS]
    assert idle["closed_by_server"] == 0
    assert all(step["rss_kib"] > 0 for step in idle["steps"])
    # The dumps saw the sockets' tasks, and the traced snapshots where their memory went.
    assert idle["breakdown"]["tasks_per_socket"], idle["breakdown"]
    assert idle["traced"]["by_group_kib_per_socket"], idle["traced"]
    load = report["load"]
    assert load["sockets"] == SOCKETS and load["closed_by_server"] == 0, load
    assert load["frames_per_socket_per_s"] > 0 and load["rss_samples"], load
    for label in ("start-serve", "KiB/socket", "Traced:", "Load:"):
        assert label in result.stdout, result.stdout
