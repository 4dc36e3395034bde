"""The stream benchmark's CI version, on the issue's price-marks shape: it runs and reports.

`python -m tests.load.bench_stream` with 20 users holding 10 of 30 symbols each, one
`market` phase (every symbol each tick, one prices_apply, as the market loop) at 1 tick/s
for 4 s over real sockets through Redis, SQLite pass only (the full 1,000-socket runs and
their numbers: docs/benchmarks.md, "Price marks in bulk"). It keeps the market source, the
bulk-seeded holders and the latency report from rotting; it judges no latency.
"""

from pathlib import Path

import pytest

from tests.load.ci_run import run_benchmark, sqlite_pass_only

pytestmark = [pytest.mark.slow, pytest.mark.redis]

USERS = 20
HOLDINGS = 10


def test_bench_stream_market_ticks_reach_every_socket(tmp_path: Path) -> None:
    sqlite_pass_only()
    args = [f"--users={USERS}", "--universe=30", f"--holdings={HOLDINGS}"]
    args += ["--phases=market:coalesced:1", "--seconds=4", "--drain=2"]
    report, stdout = run_benchmark("tests.load.bench_stream", args, tmp_path / "stream.json")
    print(stdout[-3000:])

    assert report["database"] == "sqlite" and len(report["symbols"]) == 30
    [phase] = report["phases"]
    driver = phase["driver"]
    assert driver["source"] == "market" and driver["ticks"] >= 3
    # Every tick marks every holding of every user once.
    assert driver["holder_marks"] == driver["ticks"] * USERS * HOLDINGS
    assert driver["domain_events"]["position_update"] == driver["holder_marks"]
    assert driver["publish_failures"] == 0
    for channel in ("positions", "account"):
        assert phase["clients"][channel]["frames"] > 0, channel
    assert phase["seq"]["gaps"] == 0 and phase["seq"]["errors"] == 0, phase["seq"]
    loss = report["final_loss_check"]
    assert loss["behind_database"] == 0 and loss["ahead_of_database"] == 0, loss
    assert "market:coalesced" in stdout
