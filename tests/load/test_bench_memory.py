"""The memory benchmark's CI version: it runs every phase and reports, not a size.

`python -m tests.load.bench_memory` with 20 idle sockets (10, then 20), the load phase
with 20 sockets for 3 s and a tracemalloc breakdown (the full run and its numbers:
docs/benchmarks.md, "Memory"). It keeps the benchmark, its server launcher with the
SIGUSR2 dump and the breakdown from rotting.
"""

from pathlib import Path

import pytest

from tests.load.ci_run import run_benchmark, sqlite_pass_only

pytestmark = [pytest.mark.slow]

SOCKETS = 20


def test_bench_memory_runs_every_phase_and_reports(tmp_path: Path) -> None:
    sqlite_pass_only()
    args = [f"--sockets=10,{SOCKETS}", f"--load-sockets={SOCKETS}", "--load-seconds=3"]
    args += ["--settle=1", "--tracemalloc=10"]
    report, stdout = run_benchmark("tests.load.bench_memory", args, tmp_path / "memory.json")
    print(stdout)

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
        assert label in stdout, stdout
