"""REST API orders: submit, validate, list with pagination, get; CSRF on submit."""

import uuid
from decimal import Decimal

import pytest
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from tests.factories import make_user
from tests.trading.order_api import (
    MARKET_BUY,
    ORDER_FIELDS,
    rows,
    set_prices,
    submit_limit,
    with_csrf,
)
from trading.models import Order
from trading.services.orders import order_submit


# Fixtures of this module, not a conftest: other trading tests use pytest-django's `client`.
@pytest.fixture
def client(api_client):
    return with_csrf(api_client)


@pytest.fixture(autouse=True)
def prices(db):
    set_prices()


# --- Submit ---------------------------------------------------------------------------------


def test_order_create_market_then_worker_fills_it(client, work_queue):
    response = client.post("/api/orders/", MARKET_BUY, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == ORDER_FIELDS
    assert body["status"] == "pending_new"
    assert body["symbol"] == "AAPL"
    assert body["qty"] == "10.000000"
    assert body["filled_qty"] == "0.000000"
    assert body["limit_price"] is None
    assert body["time_in_force"] == "day"
    assert body["submitted_at"].endswith("Z")
    uuid.UUID(body["id"])

    assert work_queue() == 1

    order = client.get(f"/api/orders/{body['id']}/").json()
    assert order["status"] == "filled"
    assert order["filled_qty"] == "10.000000"
    assert Decimal(order["filled_avg_price"]) == Decimal("200.00")
    assert order["filled_at"] is not None
    [position] = client.get("/api/positions/").json()
    assert position["symbol"] == "AAPL"
    assert position["qty"] == "10.000000"
    assert position["market_value"] == "2000.00"
    assert client.get("/api/account/").json()["cash"] == "98000.00"


def test_order_create_limit(client):
    payload = {**MARKET_BUY, "type": "limit", "limit_price": "150.25", "time_in_force": "gtc"}

    response = client.post("/api/orders/", payload, format="json")

    assert response.status_code == 201
    body = response.json()
    assert Decimal(body["limit_price"]) == Decimal("150.25")
    assert body["time_in_force"] == "gtc"


def test_order_create_lowercase_symbol(client):
    response = client.post("/api/orders/", {**MARKET_BUY, "symbol": "aapl", "qty": "2.5"}, "json")

    assert response.status_code == 201
    assert response.json()["symbol"] == "AAPL"
    assert response.json()["qty"] == "2.500000"


def test_order_create_client_order_id_is_idempotent(client):
    payload = {**MARKET_BUY, "client_order_id": "my-order-1"}

    first = client.post("/api/orders/", payload, format="json").json()
    second = client.post("/api/orders/", payload, format="json").json()

    assert first["id"] == second["id"]
    assert first["client_order_id"] == "my-order-1"
    assert rows() == (1, 1)


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({**MARKET_BUY, "qty": "0"}, {"qty": ["Quantity must be greater than zero."]}),
        ({**MARKET_BUY, "qty": "-5"}, {"qty": ["Quantity must be greater than zero."]}),
        ({**MARKET_BUY, "qty": "ten"}, {"qty": ["A valid number is required."]}),
        ({**MARKET_BUY, "qty": "NaN"}, {"qty": ["A valid number is required."]}),
        (
            {**MARKET_BUY, "qty": "1.1234567"},
            {"qty": ["Ensure that there are no more than 6 decimal places."]},
        ),
        (
            {**MARKET_BUY, "type": "limit"},
            {"limit_price": ["A limit order needs a limit price."]},
        ),
        (
            {**MARKET_BUY, "type": "limit", "limit_price": None},
            {"limit_price": ["A limit order needs a limit price."]},
        ),
        (
            {**MARKET_BUY, "type": "limit", "limit_price": "0"},
            {"limit_price": ["Limit price must be greater than zero."]},
        ),
        (
            {**MARKET_BUY, "type": "limit", "limit_price": "1.23456"},
            {"limit_price": ["Ensure that there are no more than 4 decimal places."]},
        ),
        (
            {**MARKET_BUY, "limit_price": "150.00"},
            {"limit_price": ["A market order takes no limit price."]},
        ),
        ({**MARKET_BUY, "side": "hold"}, {"side": ['"hold" is not a valid choice.']}),
        ({**MARKET_BUY, "type": "stop"}, {"type": ['"stop" is not a valid choice.']}),
        (
            {**MARKET_BUY, "time_in_force": "fok"},
            {"time_in_force": ['"fok" is not a valid choice.']},
        ),
        ({**MARKET_BUY, "symbol": "ZZZZ"}, {"symbol": ["Unknown symbol 'ZZZZ'."]}),
        (
            {"side": "buy", "type": "market"},
            {"symbol": ["This field is required."], "qty": ["This field is required."]},
        ),
    ],
)
def test_order_create_invalid_input_is_field_error_and_writes_nothing(client, payload, errors):
    before = rows()

    response = client.post("/api/orders/", payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert rows() == before


def test_order_create_insufficient_buying_power_is_qty_error(client, account):
    before = rows()

    response = client.post("/api/orders/", {**MARKET_BUY, "qty": "501"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "qty": [
            "Insufficient buying power: this order needs $103,206.00 (at $206.00 a share, "
            "3% above $200.00) and $100,000.00 is available."
        ]
    }
    assert rows() == before
    account.refresh_from_db()
    assert account.buying_power == Decimal("100000.00")


def test_order_create_malformed_json_is_400(client):
    before = rows()

    response = client.post(
        "/api/orders/", data='{"symbol": "AAPL", "qty": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert rows() == before


def test_order_create_form_encoded_is_415(client):
    response = client.post("/api/orders/", MARKET_BUY)  # multipart, not JSON

    assert response.status_code == 415
    assert rows() == (0, 0)


def test_order_create_without_csrf_token_is_403(api_client):
    before = rows()

    response = api_client.post("/api/orders/", MARKET_BUY, format="json")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert rows() == before


def test_order_create_with_wrong_csrf_token_is_403(api_client):
    api_client.cookies["csrftoken"] = get_random_string(32)
    response = api_client.post(
        "/api/orders/", MARKET_BUY, format="json", HTTP_X_CSRFTOKEN=get_random_string(32)
    )

    assert response.status_code == 403
    assert rows() == (0, 0)


def test_order_create_with_csrf_token_from_page(api_client):
    page = api_client.get("/portfolio/")
    token = page.cookies["csrftoken"].value

    response = api_client.post("/api/orders/", MARKET_BUY, format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201


def test_order_create_without_account_is_404_and_writes_nothing():
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user("newcomer"))
    with_csrf(client)

    response = client.post("/api/orders/", MARKET_BUY, format="json")

    assert response.status_code == 404
    assert rows() == (0, 0)


# --- List -----------------------------------------------------------------------------------


def test_order_list_status_filters(client, account, work_queue):
    filled = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market"
    )
    work_queue()
    resting = submit_limit(account)

    def ids(status: str | None) -> list[str]:
        query = f"?status={status}" if status else ""
        body = client.get(f"/api/orders/{query}").json()
        return [order["id"] for order in body["results"]]

    assert ids(None) == [str(resting.pk)]
    assert ids("open") == [str(resting.pk)]
    assert ids("closed") == [str(filled.pk)]
    assert ids("all") == [str(resting.pk), str(filled.pk)]


def test_order_list_invalid_status_is_400(client):
    response = client.get("/api/orders/?status=pending")

    assert response.status_code == 400
    assert response.json() == {"status": ['"pending" is not a valid choice.']}


def test_order_list_paginates_by_50(client, account):
    for _ in range(55):
        submit_limit(account, price="1.00")

    first = client.get("/api/orders/?status=all").json()

    assert first["count"] == 55
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert first["next"].endswith("/api/orders/?page=2&status=all")
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5
    assert second["next"] is None
    listed = {o["id"] for o in first["results"]} | {o["id"] for o in second["results"]}
    assert listed == {str(pk) for pk in Order.objects.values_list("pk", flat=True)}
    assert client.get("/api/orders/?status=all&page=3").status_code == 404


# --- Get ------------------------------------------------------------------------------------


def test_order_get(client, account):
    order = submit_limit(account)

    response = client.get(f"/api/orders/{order.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == str(order.pk)
    assert response.json()["status"] == "pending_new"


def test_order_get_unknown_is_404(client):
    response = client.get(f"/api/orders/{uuid.uuid4()}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Order not found."}


def test_order_detail_non_uuid_is_json_404(client):
    response = client.get("/api/orders/not-a-uuid/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
