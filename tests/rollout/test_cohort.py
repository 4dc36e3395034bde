"""Sticky percentage cohorts: stable across processes, monotonic in the percentage, uniform."""

import json
import os
import subprocess
import sys
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rollout.cohort import BUCKETS, in_percent, user_bucket

percents = st.decimals(min_value=0, max_value=100, places=1)
user_ids = st.integers(min_value=1, max_value=2**63 - 1)
flag_names = st.text(min_size=1, max_size=40)


@given(flag=flag_names, user_id=user_ids, low=percents, high=percents)
def test_raising_the_percentage_only_adds_users(
    flag: str, user_id: int, low: Decimal, high: Decimal
) -> None:
    low, high = min(low, high), max(low, high)
    if in_percent(flag, user_id, low):
        assert in_percent(flag, user_id, high)


@given(flag=flag_names, user_id=user_ids)
def test_zero_is_nobody_and_hundred_is_everybody(flag: str, user_id: int) -> None:
    assert not in_percent(flag, user_id, Decimal("0"))
    assert not in_percent(flag, user_id, None)
    assert in_percent(flag, user_id, Decimal("100"))
    assert 0 <= user_bucket(flag, user_id) < BUCKETS


def test_buckets_are_the_same_in_another_process() -> None:
    """sha256, not hash(): a process with another hash seed puts every user in the same bucket."""
    ids = list(range(1, 200))
    here = [user_bucket("realtime_portfolio", i) for i in ids]
    script = (
        "import json, sys; from rollout.cohort import user_bucket; "
        "print(json.dumps([user_bucket('realtime_portfolio', i) for i in range(1, 200)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(there.stdout) == here


def test_ten_percent_is_about_ten_percent_and_differs_per_flag() -> None:
    ids = range(1, 20_001)
    a = {i for i in ids if in_percent("realtime_portfolio", i, Decimal("10"))}
    b = {i for i in ids if in_percent("another_flag", i, Decimal("10"))}
    assert 1_800 <= len(a) <= 2_200
    assert 1_800 <= len(b) <= 2_200
    # Independent cohorts overlap by about 10 % of 10 %, not entirely.
    assert len(a & b) < 400
