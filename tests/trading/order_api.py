"""Shared by the REST API order tests: order fields, a market buy, CSRF, rows, limit orders."""

from decimal import Decimal

from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from tests.factories import set_price
from trading.models import Order, OrderJob
from trading.services.orders import order_submit

ORDER_FIELDS = {
    "id",
    "client_order_id",
    "symbol",
    "side",
    "type",
    "time_in_force",
    "qty",
    "filled_qty",
    "filled_avg_price",
    "limit_price",
    "status",
    "reject_reason",
    "submitted_at",
    "filled_at",
    "canceled_at",
    "expired_at",
    "failed_at",
    "updated_at",
}
MARKET_BUY = {"symbol": "AAPL", "side": "buy", "qty": "10", "type": "market"}


def set_prices() -> None:
    set_price("AAPL", "200.00")
    set_price("MSFT", "100.00")


def with_csrf(client: APIClient) -> APIClient:
    """Send the CSRF cookie and the matching header, as the browser client does."""
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


def rows() -> tuple[int, int]:
    return Order.objects.count(), OrderJob.objects.count()


def submit_limit(account, price="150.00", qty="1", symbol="AAPL") -> Order:
    return order_submit(
        account=account,
        symbol=symbol,
        side="buy",
        qty=Decimal(qty),
        type="limit",
        limit_price=Decimal(price),
    )
