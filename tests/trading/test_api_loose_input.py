"""REST API orders under loose or hostile input: numbers for money, foreign digits, odd
client_order_ids, reused idempotency keys, slash-less paths, and JSON for every error."""

import json
import uuid
from decimal import Decimal

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from tests.factories import make_account
from tests.trading.order_api import MARKET_BUY, rows, submit_limit, with_csrf
from tests.trading.order_api import set_prices as seed_prices
from trading.api.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from trading.models import Order, SimulatedOrder

NUMBER_REFUSED = 'Send {} as a decimal string, e.g. "10" or "2.5", not a JSON number.'
CLIENT_ID_REFUSED = "Use only letters, digits and - _ . : (at most 48)."


@pytest.fixture
def client(api_client):
    return with_csrf(api_client)


@pytest.fixture(autouse=True)
def prices(db):
    seed_prices()


def post(client: APIClient, payload: dict, path: str = "/api/orders/"):
    return client.post(path, payload, format="json")


# --- Money only as decimal strings of ASCII digits -------------------------------------------


@pytest.mark.parametrize("qty", [2.5, 10, True])
def test_order_create_refuses_qty_as_a_json_number(client, qty):
    response = post(client, {**MARKET_BUY, "qty": qty})

    assert response.status_code == 400
    assert response.json() == {"qty": [NUMBER_REFUSED.format("qty")]}
    assert rows() == (0, 0)


def test_order_create_refuses_limit_price_as_a_json_number(client):
    response = post(client, {**MARKET_BUY, "type": "limit", "limit_price": 150.25})

    assert response.status_code == 400
    assert response.json() == {"limit_price": [NUMBER_REFUSED.format("limit_price")]}


@pytest.mark.parametrize(
    "qty",
    ["\u0661", "\u0661\u0660", "\uff11", "1e3", " 10", "10 ", "+5", "0x10", "1_000", "", "-", "."],
)
def test_order_create_accepts_only_ascii_digits_a_sign_and_a_dot(client, qty):
    response = post(client, {**MARKET_BUY, "qty": qty})

    assert response.status_code == 400
    assert response.json() == {"qty": ["A valid number is required."]}
    assert rows() == (0, 0)


@pytest.mark.parametrize(("qty", "stored"), [("2.5", "2.500000"), ("3.", "3.000000")])
def test_order_create_accepts_plain_decimal_strings(client, qty, stored):
    response = post(client, {**MARKET_BUY, "qty": qty})

    assert response.status_code == 201
    assert response.json()["qty"] == stored


# --- client_order_id -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client_order_id",
    ["a\nb", "abc\n", "pay\u202eusd", " padded", "tab\there", "é", "a/b", "x" * 49],
)
def test_order_create_refuses_unprintable_or_long_client_order_ids(client, client_order_id):
    response = post(client, {**MARKET_BUY, "client_order_id": client_order_id})

    assert response.status_code == 400
    [message] = response.json()["client_order_id"]
    assert message in {CLIENT_ID_REFUSED, "Ensure this field has no more than 48 characters."}
    assert rows() == (0, 0)


def test_order_create_keeps_a_token_client_order_id_as_sent(client):
    token = "Bot-7_run.2026:0001" + "x" * 29  # 48 characters

    response = post(client, {**MARKET_BUY, "client_order_id": token})

    assert response.status_code == 201
    assert response.json()["client_order_id"] == token


def test_order_create_retry_with_the_same_body_returns_the_same_order(client):
    payload = {**MARKET_BUY, "client_order_id": "retry-1"}

    first = post(client, payload)
    # The same order said the same way: "10.0" is the qty "10" was.
    second = post(client, {**payload, "qty": "10.0", "symbol": "aapl", "time_in_force": "day"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert rows() == (1, 1)


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        ({"qty": "11"}, "qty"),
        ({"side": "sell"}, "side"),
        ({"symbol": "MSFT"}, "symbol"),
        ({"time_in_force": "gtc"}, "time_in_force"),
        ({"type": "limit", "limit_price": "150.00"}, "type, limit_price"),
    ],
)
def test_order_create_reusing_a_client_order_id_for_another_order_is_422(client, change, differing):
    payload = {**MARKET_BUY, "client_order_id": "reused-1"}
    first = post(client, payload).json()

    response = post(client, {**payload, **change})

    assert response.status_code == 422
    assert response.json() == {
        "client_order_id": [
            f"client_order_id 'reused-1' was already used for another order ({differing} "
            "differ). Repeat a retry exactly; use a new client_order_id for a new order."
        ]
    }
    assert rows() == (1, 1)
    assert Order.objects.get().pk == uuid.UUID(first["id"])


def test_client_order_ids_are_scoped_per_account(client, work_queue):
    other = with_csrf(APIClient(enforce_csrf_checks=True))
    other_account = make_account("neighbour")
    other.force_login(other_account.user)
    payload = {**MARKET_BUY, "client_order_id": "shared-name"}

    mine = post(client, payload)
    theirs = post(other, {**payload, "qty": "3"})  # not a reuse: another account's key

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["qty"] == "3.000000"
    # The broker keys orders per account too: both are placed and filled.
    assert work_queue() == 2
    venue = SimulatedOrder.objects.filter(client_order_id="shared-name")
    assert sorted(venue.values_list("filled_qty", flat=True)) == [Decimal("3"), Decimal("10")]
    statuses = Order.objects.filter(client_order_id="shared-name").values_list("status", flat=True)
    assert set(statuses) == {"filled"}


# --- Paths without the trailing slash --------------------------------------------------------


@pytest.fixture
def debug(settings):
    """DEBUG on, where Django's APPEND_SLASH raised a RuntimeError for a slash-less POST."""
    settings.DEBUG = True


def test_order_create_without_trailing_slash_is_the_same_route(client, debug):
    response = post(client, MARKET_BUY, path="/api/orders")

    assert response.status_code == 201
    assert rows() == (1, 1)


def test_order_cancel_and_get_without_trailing_slash(client, account, debug):
    order = submit_limit(account)

    assert client.get(f"/api/orders/{order.pk}").json()["id"] == str(order.pk)
    response = client.delete(f"/api/orders/{order.pk}")

    assert response.status_code == 202
    assert response.json()["status"] == "canceled"


def test_slash_less_route_still_checks_csrf(api_client, debug):
    response = api_client.post("/api/orders", MARKET_BUY, format="json")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert rows() == (0, 0)


# --- JSON for every error ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/orders/not-a-uuid/"),
        ("delete", "/api/orders/not-a-uuid"),
        ("get", "/api/orders/00000000-0000-0000-0000-00000000000G/"),
        ("get", "/api/nothing-here/"),
        ("post", "/api/nothing-here"),
    ],
)
def test_unknown_api_paths_are_json_404(client, debug, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_unknown_api_path_is_json_404_signed_out(db, debug):
    response = APIClient().post("/api/orders/x/", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unsupported_method_is_json_405(client):
    response = client.put("/api/orders/", MARKET_BUY, format="json")

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}


def test_oversize_body_is_json_413(client, settings, debug):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({**MARKET_BUY, "client_order_id": "x" * 2000})

    response = client.post("/api/orders/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}
    assert rows() == (0, 0)


@pytest.mark.parametrize(
    "body",
    ["[" * 1000 + "]" * 1000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 100_000],
)
def test_deeply_nested_json_is_json_400(client, debug, body):
    response = client.post("/api/orders/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert rows() == (0, 0)


def test_nesting_just_over_the_limit_is_refused(client):
    body = json.dumps(
        {**MARKET_BUY, "extra": json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)}
    )

    response = client.post("/api/orders/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
    }


def test_json_depth_counts_containers_only():
    assert not json_depth_exceeds({"a": [1, {"b": "c"}]}, 3)
    assert json_depth_exceeds({"a": [1, {"b": []}]}, 3)
    assert not json_depth_exceeds("scalar", 0)


def test_an_unexpected_error_is_json_500_without_a_traceback(client, debug, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("trading.api.views.order_list", broken)

    response = client.get("/api/orders/")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert b"secret internals" not in response.content
    assert "secret internals" in caplog.text  # the log keeps it


def test_a_lost_database_is_a_retryable_json_503(client, debug, monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("trading.api.views.order_submit", down)

    response = post(client, MARKET_BUY)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The service is briefly unavailable; try again in a few seconds."
    }
