"""REST API reads: authentication, the account, positions and the portfolio snapshot."""

import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.factories import make_user, set_price
from trading.enums import OrderStatus
from trading.models import BrokerAccount
from trading.services.orders import order_submit

ACCOUNT_FIELDS = {
    "cash",
    "equity",
    "last_equity",
    "buying_power",
    "long_market_value",
    "short_market_value",
    "day_pl",
    "day_pl_pct",
    "realized_pl",
    "realized_pl_today",
    "provider",
    "is_live",
    "trading_day",
}
POSITION_FIELDS = {
    "symbol",
    "qty",
    "side",
    "avg_entry_price",
    "current_price",
    "market_value",
    "cost_basis",
    "unrealized_pl",
    "unrealized_plpc",
    "unrealized_intraday_pl",
    "unrealized_intraday_plpc",
    "change_today",
    "lastday_price",
}
FILL_FIELDS = {"execution_id", "order_id", "symbol", "side", "qty", "price", "executed_at"}

ENDPOINTS = [
    ("get", "/api/account/"),
    ("get", "/api/positions/"),
    ("get", "/api/orders/"),
    ("post", "/api/orders/"),
    ("get", f"/api/orders/{uuid.uuid4()}/"),
    ("delete", f"/api/orders/{uuid.uuid4()}/"),
    ("get", "/api/portfolio/snapshot/"),
]


@pytest.fixture
def buy_aapl(account, work_queue):
    """10 AAPL bought at 200.00, the price then moved to 210.00 with a 205.00 close."""
    set_price("AAPL", "200.00")
    order_submit(account=account, symbol="AAPL", side="buy", qty=Decimal("10"), type="market")
    work_queue()
    set_price("AAPL", "210.00", prev_close="205.00")
    return account


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_api_unauthenticated_is_403(method, url):
    client = APIClient(enforce_csrf_checks=True)

    response = getattr(client, method)(url, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/account/", "/api/positions/", "/api/orders/", "/api/portfolio/snapshot/"]
)
def test_api_user_without_account_gets_404_with_explanation(url):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user("newcomer"))

    response = client.get(url)

    assert response.status_code == 404
    assert "no broker account" in response.json()["detail"]


def test_account_get_shape_with_decimal_strings(api_client, account):
    response = api_client.get("/api/account/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == ACCOUNT_FIELDS
    assert body["cash"] == "100000.00"
    assert body["equity"] == "100000.00"
    assert body["last_equity"] == "100000.00"
    assert body["buying_power"] == "100000.00"
    assert body["long_market_value"] == "0.00"
    assert body["short_market_value"] == "0.00"
    assert body["day_pl"] == "0.00"
    assert body["day_pl_pct"] == "0.000000"
    assert body["provider"] == "simulated"
    assert body["is_live"] is False
    assert body["trading_day"] == account.trading_day.isoformat()


def test_account_get_after_fill(api_client, buy_aapl, work_queue):
    body = api_client.get("/api/account/").json()

    assert body["cash"] == "98000.00"
    assert body["long_market_value"] == "2000.00"  # not re-marked until the market ticks
    assert body["equity"] == "100000.00"


def test_account_get_day_pl_from_properties(api_client, account):
    BrokerAccount.objects.filter(pk=account.pk).update(
        equity=Decimal("101234.50"), last_equity=Decimal("100000.00")
    )

    body = api_client.get("/api/account/").json()

    assert body["day_pl"] == "1234.50"
    assert body["day_pl_pct"] == "0.012345"


def test_positions_list_empty(api_client):
    response = api_client.get("/api/positions/")

    assert response.status_code == 200
    assert response.json() == []


def test_positions_list_shape_with_decimal_strings(api_client, buy_aapl):
    response = api_client.get("/api/positions/")

    assert response.status_code == 200
    [position] = response.json()
    assert set(position) == POSITION_FIELDS
    assert position["symbol"] == "AAPL"
    assert position["side"] == "long"
    assert position["qty"] == "10.000000"
    assert Decimal(position["avg_entry_price"]) == Decimal("200.00")
    assert position["market_value"] == "2000.00"
    assert position["cost_basis"] == "2000.00"
    assert position["unrealized_pl"] == "0.00"
    assert position["unrealized_plpc"] == "0.000000"
    for field in POSITION_FIELDS - {"symbol", "side"}:
        assert isinstance(position[field], str), field
        Decimal(position[field])


def test_positions_are_isolated_per_user(buy_aapl, other_account):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(other_account.user)

    assert client.get("/api/positions/").json() == []
    assert client.get("/api/account/").json()["cash"] == "50000.00"


def test_snapshot_content_and_seq(api_client, buy_aapl):
    account = buy_aapl
    set_price("MSFT", "100.00")
    resting = order_submit(
        account=account,
        symbol="MSFT",
        side="buy",
        qty=Decimal("5"),
        type="limit",
        limit_price=Decimal("90.00"),
    )

    response = api_client.get("/api/portfolio/snapshot/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "account",
        "positions",
        "open_orders",
        "recent_fills",
        "seq",
        "realtime_enabled",
    }
    assert body["realtime_enabled"] is True
    assert set(body["account"]) == ACCOUNT_FIELDS
    assert body["account"]["cash"] == "98000.00"
    assert [p["symbol"] for p in body["positions"]] == ["AAPL"]
    assert [o["id"] for o in body["open_orders"]] == [str(resting.pk)]
    assert body["open_orders"][0]["status"] == OrderStatus.PENDING_NEW
    assert body["open_orders"][0]["limit_price"] is not None
    [fill] = body["recent_fills"]
    assert set(fill) == FILL_FIELDS
    assert fill["symbol"] == "AAPL"
    assert fill["side"] == "buy"
    assert fill["qty"] == "10.000000"
    assert Decimal(fill["price"]) == Decimal("200.00")
    account.refresh_from_db()
    assert body["seq"] == {
        "positions": account.positions_seq,
        "orders": account.orders_seq,
        "account": account.account_seq,
    }
    assert all(value > 0 for value in body["seq"].values())


def test_snapshot_seq_moves_with_changes(api_client, account):
    before = api_client.get("/api/portfolio/snapshot/").json()["seq"]
    set_price("AAPL", "200.00")
    order_submit(account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market")

    after = api_client.get("/api/portfolio/snapshot/").json()["seq"]

    assert after["orders"] == before["orders"] + 1
    assert after["positions"] == before["positions"]
