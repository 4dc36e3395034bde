"""A benchmark run the way its CI version runs it: a child process, its JSON report read back."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.processes import REPO_ROOT


def on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def sqlite_pass_only() -> None:
    """Skip in the PostgreSQL pass: the benchmark seeds a SQLite file of its own whatever
    the suite runs on, so once is enough."""
    if on_postgres():
        pytest.skip("runs in the SQLite pass only")


def run_benchmark(
    module: str, args: list[str], out: Path, *, keep_database_url: bool = False
) -> tuple[dict[str, Any], str]:
    """`python -m module args --out=out`; its report and stdout, once it exited 0."""
    drop = {"PYTEST_CURRENT_TEST"} if keep_database_url else {"PYTEST_CURRENT_TEST", "DATABASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    command = [sys.executable, "-m", module, *args, f"--out={out}"]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"the benchmark failed:\n{result.stderr[-5000:]}"
    return json.loads(out.read_text()), result.stdout
