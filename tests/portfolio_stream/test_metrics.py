"""The /metrics endpoint: Prometheus text for scrapers on allowed networks and staff only."""

import pytest
from django.test import Client

from tests.factories import make_user

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
