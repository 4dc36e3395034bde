"""Intraday equity: recorded once a minute for every account, served in Alpaca's shape."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from trading.models import BrokerAccount, EquityPoint
from trading.services.equity_history import EquityRecorder, equity_history_record

D = Decimal
# 10:30 in New York: the trading day began at 05:00 UTC.
NOW = datetime(2026, 11, 25, 15, 30, 20, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _set_equity(account: BrokerAccount, equity: str) -> None:
    BrokerAccount.objects.filter(pk=account.pk).update(equity=D(equity))


def test_one_point_per_account_per_minute_latest_wins(
    account: BrokerAccount, other_account: BrokerAccount
) -> None:
    assert equity_history_record(now=NOW) == 2
    _set_equity(account, "100050.00")
    equity_history_record(now=NOW + timedelta(seconds=30))  # same minute
    points = list(EquityPoint.objects.filter(account=account))
    assert [(p.at, p.equity) for p in points] == [(NOW.replace(second=0), D("100050.00"))]
    assert EquityPoint.objects.filter(account=other_account).count() == 1


def test_recorder_writes_once_a_minute_and_old_points_expire(account: BrokerAccount) -> None:
    EquityPoint.objects.create(account=account, at=NOW - timedelta(days=8), equity=D("1"))
    recorder = EquityRecorder()
    assert recorder.tick(NOW)
    assert not recorder.tick(NOW + timedelta(seconds=20))
    assert recorder.tick(NOW + timedelta(seconds=45))
    assert EquityPoint.objects.filter(account=account).count() == 2  # the old one pruned


def test_history_api_in_alpacas_shape(
    account: BrokerAccount, api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    BrokerAccount.objects.filter(pk=account.pk).update(last_equity=D("100000.00"))
    for minutes, equity in [(-400, "99000.00"), (-10, "100100.00"), (-9, "100200.00")]:
        EquityPoint.objects.create(
            account=account, at=NOW.replace(second=0) + timedelta(minutes=minutes), equity=D(equity)
        )
    _set_equity(account, "100150.00")
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    body = api_client.get("/api/account/history/?period=1D&timeframe=1Min").json()
    wide = api_client.get("/api/account/history/?period=1D&timeframe=15Min").json()
    week = api_client.get("/api/account/history/?period=1W").json()
    # 1D starts at midnight New York (05:00 UTC); -400 minutes is 08:50 UTC, inside the day.
    assert body["timeframe"] == "1Min"
    assert body["base_value"] == "100000.00"
    assert body["equity"] == ["99000.00", "100100.00", "100200.00", "100150.00"]
    assert body["profit_loss"] == ["-1000.00", "100.00", "200.00", "150.00"]
    assert body["profit_loss_pct"][0] == "-0.010000"
    assert body["timestamp"][-1] == int(NOW.timestamp())
    assert body["timestamp"] == sorted(body["timestamp"])
    # 15-minute buckets keep each bucket's last sample: the -10 and -9 points share one.
    assert wide["equity"] == ["99000.00", "100200.00", "100150.00"]
    assert len(week["equity"]) == 4


def test_history_before_the_trading_day_is_not_today(
    account: BrokerAccount, api_client: APIClient
) -> None:
    yesterday = datetime(2026, 11, 25, 4, 59, tzinfo=UTC)  # 23:59 New York, the day before
    EquityPoint.objects.create(account=account, at=yesterday, equity=D("5"))
    body = api_client.get("/api/account/history/?period=1D").json()
    assert "5.00" not in body["equity"]


def test_history_rejects_unknown_periods(api_client: APIClient) -> None:
    response = api_client.get("/api/account/history/?period=5Y&timeframe=1Sec")
    assert response.status_code == 400
    assert set(response.json()) == {"period", "timeframe"}


def test_history_is_per_user(account: BrokerAccount, other_account: BrokerAccount) -> None:
    EquityPoint.objects.create(account=other_account, at=NOW, equity=D("424242.00"))
    client = APIClient()
    client.force_login(account.user)
    assert "424242.00" not in client.get("/api/account/history/?period=1W").json()["equity"]
