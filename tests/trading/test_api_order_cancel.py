"""REST API order cancel: open, unsent and filled orders, CSRF; isolation between users."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.trading.order_api import set_prices, submit_limit, with_csrf
from trading.enums import OrderStatus
from trading.models import OrderJob
from trading.services.orders import order_submit


# Fixtures of this module, not a conftest: other trading tests use pytest-django's `client`.
@pytest.fixture
def client(api_client):
    return with_csrf(api_client)


@pytest.fixture
def other_client(other_account):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(other_account.user)
    return with_csrf(client)


@pytest.fixture(autouse=True)
def prices(db):
    set_prices()


# --- Cancel ---------------------------------------------------------------------------------


def test_order_cancel_open_limit_order(client, account, work_queue):
    order = submit_limit(account)
    work_queue()  # the venue accepts it; at 200.00 a 150.00 bid rests

    response = client.delete(f"/api/orders/{order.pk}/")

    assert response.status_code == 202
    assert response.json()["id"] == str(order.pk)
    assert response.json()["status"] == "pending_cancel"
    work_queue()
    body = client.get(f"/api/orders/{order.pk}/").json()
    assert body["status"] == "canceled"
    assert body["canceled_at"] is not None
    assert client.get("/api/account/").json()["buying_power"] == "100000.00"


def test_order_cancel_before_the_worker_sent_it(client, account, work_queue):
    order = submit_limit(account)

    response = client.delete(f"/api/orders/{order.pk}/")

    assert response.status_code == 202
    assert response.json()["status"] == "canceled"
    work_queue()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED


def test_order_cancel_filled_order_is_409(client, account, work_queue):
    order = order_submit(
        account=account, symbol="AAPL", side="buy", qty=Decimal("1"), type="market"
    )
    work_queue()
    jobs_before = OrderJob.objects.count()

    response = client.delete(f"/api/orders/{order.pk}/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This order is already filled and can no longer be canceled."
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert OrderJob.objects.count() == jobs_before


def test_order_cancel_without_csrf_token_is_403(api_client, account, work_queue):
    order = submit_limit(account)
    work_queue()

    response = api_client.delete(f"/api/orders/{order.pk}/")

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW


# --- Isolation ------------------------------------------------------------------------------


def test_order_list_is_isolated_per_user(client, other_client, other_account):
    submit_limit(other_account)

    body = client.get("/api/orders/?status=all").json()

    assert body["count"] == 0
    assert body["results"] == []


def test_order_of_another_user_is_404_and_not_canceled(client, other_account, work_queue):
    theirs = submit_limit(other_account)
    work_queue()
    theirs.refresh_from_db()
    status_before = theirs.status

    get = client.get(f"/api/orders/{theirs.pk}/")
    delete = client.delete(f"/api/orders/{theirs.pk}/")

    assert get.status_code == 404
    assert delete.status_code == 404
    assert delete.json() == {"detail": "Order not found."}
    theirs.refresh_from_db()
    assert theirs.status == status_before == OrderStatus.NEW
    assert not OrderJob.objects.filter(order=theirs, kind="cancel").exists()
