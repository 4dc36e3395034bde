"""The price-marks benchmark's CI version: it runs two ticks and reports, not a speed.

`python -m tests.load.bench_marks` with 20 traders holding 3 of 10 symbols each, two ticks
with events built and published, on SQLite in the SQLite pass and on a throwaway PostgreSQL
database in the PostgreSQL pass (the full runs and their numbers: docs/benchmarks.md,
"Price marks in bulk"). It keeps the seeding, the timed ticks and the report from rotting.
"""

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.load.ci_run import on_postgres
from tests.processes import REPO_ROOT

pytestmark = pytest.mark.slow

TRADERS, HOLDINGS, SYMBOLS, TICKS = 20, 3, 10, 2


def run_bench_marks(postgres: bool) -> dict[str, Any]:
    args = [f"--traders={TRADERS}", f"--holdings={HOLDINGS}", f"--symbols={SYMBOLS}"]
    args += [f"--ticks={TICKS}", "--events", *(["--postgres"] if postgres else [])]
    # On PostgreSQL it creates (and drops) a database of its own on the server DATABASE_URL
    # names; on SQLite it makes its own file.
    drop = {"PYTEST_CURRENT_TEST"} | (set() if postgres else {"DATABASE_URL"})
    env = {key: value for key, value in os.environ.items() if key not in drop}
    result = subprocess.run(
        [sys.executable, "-m", "tests.load.bench_marks", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"the benchmark failed:\n{result.stderr[-5000:]}"
    # The report is the JSON object the benchmark prints last.
    out = "\n" + result.stdout
    return dict(json.loads(out[out.rindex("\n{") :]))


def test_bench_marks_ticks_and_reports() -> None:
    postgres = on_postgres()
    report = run_bench_marks(postgres)

    assert report["database"].startswith("postgresql" if postgres else "sqlite")
    assert (report["traders"], report["holdings"], report["symbols"]) == (
        TRADERS,
        HOLDINGS,
        SYMBOLS,
    )
    assert report["events"] is True
    today = report["today"]
    # Every tick moves every symbol: each holding is marked once a tick.
    assert today["marks"] == TRADERS * HOLDINGS * TICKS
    assert today["marks_per_s"] > 0
    assert 0 < today["tick_seconds"]["median"] <= today["tick_seconds"]["max"]
    assert isinstance(today["keeps_up_at_1s"], bool)
    assert today["cpu_seconds_per_tick"]["process"] > 0
    assert today["publisher_drain_after_last_tick_s"] >= 0
