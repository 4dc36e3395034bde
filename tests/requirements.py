"""Skip a test for a missing tool, except under `make test`, where a missing tool is a failure."""

import os

import pytest

# `make test` installs Chromium and Node itself: a skip there would hide a broken install.
STRICT = os.environ.get("PORTFOLIO_STRICT_TEST_DEPS") == "1"


def require(available: bool, reason: str) -> None:
    """Skip (or, under `make test`, fail) when a tool the test needs is missing."""
    if available:
        return
    if STRICT:
        pytest.fail(f"{reason} (make test installs it; the install step failed)")
    pytest.skip(reason)
