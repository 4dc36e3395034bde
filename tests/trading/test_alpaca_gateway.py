"""The Alpaca gateway on the unmodified alpaca-py TradingClient, against the local fake."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.fake_alpaca import FakeAlpaca
from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    SECRET_KEY,
    alpaca_account_fixture,
    fake_alpaca_fixture,
)
from trading.broker.alpaca import gateway as gateway_module
from trading.broker.alpaca.credentials import AlpacaCredentials
from trading.broker.alpaca.gateway import AlpacaGateway
from trading.broker.types import (
    BrokerAuthError,
    BrokerNotCancelable,
    BrokerRejected,
    BrokerUnavailable,
    OrderRequest,
)


@pytest.fixture
def gateway(fake_alpaca: FakeAlpaca) -> AlpacaGateway:
    fake_alpaca.add_account(KEY_ID, SECRET_KEY, cash="100000", auto_fill=False)
    return AlpacaGateway(AlpacaCredentials(KEY_ID, SECRET_KEY), url_override=fake_alpaca.rest_url)


def order_request(
    cid: str = "cid-1", qty: str = "1.5", type: str = "market", limit: str | None = None
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol="AAPL",
        side="buy",
        type=type,
        time_in_force="day",
        qty=Decimal(qty),
        limit_price=Decimal(limit) if limit else None,
    )


def test_submit_market_order_sends_our_client_order_id_and_exact_quantity(gateway, fake_alpaca):
    order = gateway.submit_order(order_request(qty="1.234567"))

    _, path, _, body = fake_alpaca.requests("POST", "/v2/orders")[-1]
    assert path == "/v2/orders"
    assert body["client_order_id"] == "cid-1"
    assert body["qty"] == Decimal("1.234567")
    assert body["type"] == "market" and "limit_price" not in body
    assert order.client_order_id == "cid-1"
    assert order.qty == Decimal("1.234567")
    assert order.status == "accepted"
    assert order.submitted_at.tzinfo is not None


def test_submit_limit_order_keeps_the_price_exact(gateway, fake_alpaca):
    order = gateway.submit_order(order_request(type="limit", limit="187.1234"))

    assert fake_alpaca.requests("POST")[-1][3]["limit_price"] == Decimal("187.1234")
    assert order.limit_price == Decimal("187.1234")
    assert order.type == "limit"


def test_lookup_by_client_order_id_finds_the_order_or_says_none(gateway):
    placed = gateway.submit_order(order_request())

    found = gateway.get_order_by_client_id("cid-1")
    assert found is not None and found.broker_order_id == placed.broker_order_id
    assert gateway.get_order_by_client_id("never-sent") is None


def test_a_duplicate_client_order_id_returns_the_order_already_there(gateway, fake_alpaca):
    first = gateway.submit_order(order_request())
    again = gateway.submit_order(order_request())

    assert again.broker_order_id == first.broker_order_id
    assert len(fake_alpaca.account(KEY_ID).orders) == 1


def test_cancel_then_cancel_again_is_not_cancelable(gateway):
    order = gateway.submit_order(order_request())

    gateway.cancel_order(order.broker_order_id)
    assert gateway.get_order_by_client_id("cid-1").status == "canceled"
    with pytest.raises(BrokerNotCancelable, match='already in "canceled" state'):
        gateway.cancel_order(order.broker_order_id)


def test_cancel_of_an_unknown_order_is_rejected(gateway):
    with pytest.raises(BrokerRejected, match="does not know this order"):
        gateway.cancel_order("5f4b6c2e-0000-4000-8000-000000000000")


def test_positions_and_balances_are_exact_decimals(gateway, fake_alpaca):
    gateway.submit_order(order_request("buy", qty="3"))
    fake_alpaca.fill(KEY_ID, "buy", price="200.1234")
    gateway.submit_order(OrderRequest("short", "MSFT", "sell", "market", "day", Decimal("2"), None))
    fake_alpaca.fill(KEY_ID, "short", price="400.00")

    positions = {p.symbol: p for p in gateway.list_positions()}
    balances = gateway.get_account()

    assert positions["AAPL"].qty == Decimal("3")
    assert positions["AAPL"].avg_entry_price == Decimal("200.1234")
    assert positions["MSFT"].qty == Decimal("-2")
    # 100000 - 600.37 (600.3702 in cents) + 800
    assert balances.cash == Decimal("100199.63")
    assert balances.status == "ACTIVE"


def test_list_orders_filters_by_status_and_submission_time(gateway, fake_alpaca):
    first = gateway.submit_order(order_request("a"))
    fake_alpaca.fill(KEY_ID, "a")
    gateway.submit_order(order_request("b"))

    assert [o.client_order_id for o in gateway.list_orders(status="open")] == ["b"]
    assert [o.client_order_id for o in gateway.list_orders(status="all")] == ["a", "b"]
    later = gateway.list_orders(status="all", after=first.submitted_at + timedelta(microseconds=1))
    assert [o.client_order_id for o in later] == ["b"]


def test_wrong_keys_are_an_auth_error(fake_alpaca):
    fake_alpaca.add_account(KEY_ID, SECRET_KEY)
    wrong = AlpacaGateway(AlpacaCredentials(KEY_ID, "wrong"), url_override=fake_alpaca.rest_url)

    with pytest.raises(BrokerAuthError, match="request is not authorized"):
        wrong.list_positions()


def test_insufficient_buying_power_is_a_rejection_with_the_numbers(gateway, fake_alpaca):
    fake_alpaca.set_buying_power(KEY_ID, "150.00")

    with pytest.raises(BrokerRejected) as rejected:
        gateway.submit_order(order_request(qty="1"))

    assert str(rejected.value) == (
        "Insufficient buying power at Alpaca: this order needs $200.00 and $150.00 is available."
    )


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (422, {"code": 40010001, "message": "qty must be > 0"}, BrokerRejected, "qty must be > 0"),
        (403, {"message": "forbidden."}, BrokerAuthError, "forbidden"),
        (404, {"code": 40410000, "message": "asset not found"}, BrokerRejected, "asset not found"),
        (500, {"message": "internal"}, BrokerUnavailable, "HTTP 500"),
        (502, "<html>bad gateway</html>", BrokerUnavailable, "HTTP 502"),
    ],
)
def test_http_errors_map_to_broker_errors(gateway, fake_alpaca, status, body, error, text):
    fake_alpaca.fail_next("POST", "/v2/orders", status, body)

    with pytest.raises(error, match=text):
        gateway.submit_order(order_request())


def test_rate_limit_is_unavailable_at_once_so_the_queue_backs_off(gateway, fake_alpaca):
    fake_alpaca.fail_next("POST", "/v2/orders", 429, {"code": 42910000, "message": "too many"})

    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="rate limit"):
        gateway.submit_order(order_request())

    assert time.monotonic() - started < 1.0  # alpaca-py alone would sleep 9 s here
    assert len(fake_alpaca.requests("POST")) == 1


def test_a_hung_alpaca_times_out_as_unavailable(gateway, fake_alpaca, monkeypatch):
    monkeypatch.setattr(gateway_module, "REQUEST_TIMEOUT_SECONDS", (1.0, 0.2))
    fake_alpaca.rest_controls.delay_seconds = 1.0

    with pytest.raises(BrokerUnavailable, match="did not answer in time"):
        gateway.list_positions()


def test_an_unreachable_alpaca_is_unavailable():
    gateway = AlpacaGateway(AlpacaCredentials("k", "s"), url_override="http://127.0.0.1:9")

    with pytest.raises(BrokerUnavailable, match="unreachable"):
        gateway.get_account()
