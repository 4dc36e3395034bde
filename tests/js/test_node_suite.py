"""Run the live client's unit tests (`node --test tests/js/`) as part of the Python suite.

They need only Node's built-in test runner; without `node` they are skipped, except under
`make test`, which installs Node and fails when it is missing.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.requirements import require

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


@pytest.fixture(autouse=True)
def node_installed() -> None:
    require(NODE is not None, "node is not installed")


def test_node_unit_tests_pass() -> None:
    result = subprocess.run(
        [str(NODE), "--test", "tests/js/"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
