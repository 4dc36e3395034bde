"""The /metrics endpoint: Prometheus text for scrapers on allowed networks and staff only."""

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import make_user
from trading.models import BrokerAccount
from trading.services.orders import order_submit

pytestmark = pytest.mark.django_db


def test_metrics_served_to_local_scraper() -> None:
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "portfolio_ws_connections_active" in body
    assert "portfolio_ws_delivery_latency_seconds_bucket" in body


def test_metrics_refused_to_remote_anonymous() -> None:
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403


def test_metrics_refused_to_remote_trader_but_served_to_staff() -> None:
    trader = Client(REMOTE_ADDR="203.0.113.9")
    trader.force_login(make_user("plain"))
    assert trader.get("/metrics").status_code == 403
    staff_user = make_user("ops")
    staff_user.is_staff = True
    staff_user.save()
    staff = Client(REMOTE_ADDR="203.0.113.9")
    staff.force_login(staff_user)
    assert staff.get("/metrics").status_code == 200


def test_metrics_parse_and_carry_the_documented_families() -> None:
    """Every family named in docs/architecture.md's metrics table, and nothing undocumented."""
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    families = {family.name for family in text_string_to_metric_families(body)}
    ours = {name for name in families if name.startswith("portfolio_")}
    assert ours == documented_metric_names()
    assert "_created" not in body


def test_queue_and_rollout_gauges_follow_the_database(account: BrokerAccount) -> None:
    order_submit(account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market")
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert samples[("portfolio_order_queue_jobs", (("status", "queued"),))] == 1.0
    mode = (("flag", "realtime_portfolio"), ("mode", "on"))
    assert samples[("portfolio_rollout_mode", mode)] == 1.0


def documented_metric_names() -> set[str]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(portfolio_\w+)`", section, flags=re.MULTILINE))


def test_job_outcomes_and_submit_to_fill_latency(
    account: BrokerAccount, work_queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    done = {"kind": "submit", "outcome": "done"}
    jobs_before = REGISTRY.get_sample_value("portfolio_order_jobs_total", done) or 0.0
    fills_before = REGISTRY.get_sample_value("portfolio_order_submit_to_fill_seconds_count") or 0.0
    with django_capture_on_commit_callbacks(execute=True):  # the latency is observed on commit
        order_submit(account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market")
        work_queue()
    assert REGISTRY.get_sample_value("portfolio_order_jobs_total", done) == jobs_before + 1
    fills_after = REGISTRY.get_sample_value("portfolio_order_submit_to_fill_seconds_count")
    assert fills_after == fills_before + 1
