"""The order POST's reads and DRF's work: the account read once, locked; the same answers."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from tests.factories import make_user
from tests.trading.order_api import MARKET_BUY, rows, set_prices, submit_limit, with_csrf
from trading.api.errors import NoBrokerAccount
from trading.api.serializers import (
    OrderCreateSerializer,
    OrderSerializer,
    order_create_validated,
    order_representation,
)
from trading.models import BrokerAccount
from trading.services.orders import order_cancel_request, order_submit

LIMIT_BUY = {**MARKET_BUY, "type": "limit", "limit_price": "150.00"}
# Valid and invalid bodies, the odd ones included: what order_create_validated must answer
# exactly as OrderCreateSerializer(data=...).is_valid does.
PAYLOADS: list[Any] = [
    MARKET_BUY,
    LIMIT_BUY,
    {**LIMIT_BUY, "time_in_force": "gtc", "client_order_id": "retry-1"},
    {**MARKET_BUY, "symbol": "aapl", "unknown_field": 1},
    {**MARKET_BUY, "limit_price": None, "client_order_id": None},
    {**MARKET_BUY, "qty": "0"},
    {**MARKET_BUY, "qty": 10},
    {**MARKET_BUY, "qty": "1e3"},
    {**MARKET_BUY, "qty": "1.1234567"},
    {**MARKET_BUY, "qty": "99999999"},
    {**MARKET_BUY, "type": "limit"},
    {**LIMIT_BUY, "limit_price": "0"},
    {**MARKET_BUY, "limit_price": "150.00"},
    {**MARKET_BUY, "side": "hold", "type": "stop"},
    {**MARKET_BUY, "client_order_id": "no spaces"},
    {**MARKET_BUY, "client_order_id": "x" * 49},
    {**MARKET_BUY, "symbol": ""},
    {"side": "buy", "type": "market"},
    {},
    None,
    [],
    [MARKET_BUY],
    "AAPL",
    5,
]


@pytest.fixture
def client(api_client: APIClient) -> APIClient:
    return with_csrf(api_client)


@pytest.fixture(autouse=True)
def prices(db: None) -> None:
    set_prices()


def with_statements(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """What `call` returns, and the SQL it ran on this thread's connection."""
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        result = call()
    return result, statements


def tables_read(statements: list[str]) -> list[str]:
    return [
        s.split(" FROM ", 1)[1].split()[0].strip('"') for s in statements if s.startswith("SELECT")
    ]


@pytest.mark.parametrize("payload", [MARKET_BUY, {**MARKET_BUY, "client_order_id": "once-1"}])
def test_order_create_reads_the_account_once_and_locked(client, payload):
    response, statements = with_statements(
        lambda: client.post("/api/orders/", payload, format="json")
    )

    assert response.status_code == 201
    reads = tables_read(statements)
    assert reads.count("trading_brokeraccount") == 1
    account_read = next(s for s in statements if 'FROM "trading_brokeraccount"' in s)
    if connection.vendor == "postgresql":
        assert account_read.endswith("FOR UPDATE")
    assert sorted(reads) == sorted(
        [
            "auth_user",
            "django_session",
            "trading_brokeraccount",
            "trading_instrument",
            "trading_position",
            "trading_order",
            *(["trading_order"] if payload.get("client_order_id") else []),
        ]
    )


def test_order_create_retry_reads_the_account_once_and_returns_the_order(client):
    payload = {**MARKET_BUY, "client_order_id": "retry-2"}
    first = client.post("/api/orders/", payload, format="json")

    again, statements = with_statements(lambda: client.post("/api/orders/", payload, format="json"))

    assert again.status_code == 201
    assert again.json() == first.json()
    assert tables_read(statements).count("trading_brokeraccount") == 1
    assert rows() == (1, 1)


@pytest.mark.parametrize(
    "body",
    [MARKET_BUY, {**MARKET_BUY, "qty": "0"}, {**MARKET_BUY, "symbol": "ZZZZ"}, {}, "null", "[]"],
)
def test_order_create_without_account_is_404_before_any_input_error(body):
    client = with_csrf(APIClient(enforce_csrf_checks=True))
    client.force_login(make_user("newcomer"))

    if isinstance(body, str):
        response = client.post("/api/orders/", body, content_type="application/json")
    else:
        response = client.post("/api/orders/", body, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": NoBrokerAccount.default_detail}
    assert rows() == (0, 0)


def test_order_submit_for_a_user_without_account_raises_does_not_exist():
    user = make_user("newcomer")

    with pytest.raises(BrokerAccount.DoesNotExist):
        order_submit(user_id=user.pk, symbol="AAPL", side="buy", qty=Decimal("1"), type="market")


def outcome(payload: Any) -> tuple[str, Any]:
    """("valid", data) or ("invalid", the raised detail: messages and codes)."""
    try:
        return "valid", order_create_validated(payload)
    except ValidationError as error:
        return "invalid", (error.detail, error.get_codes())


def drf_outcome(payload: Any) -> tuple[str, Any]:
    """The same through a serializer of its own, as the view did before."""
    serializer = OrderCreateSerializer(data=payload)
    try:
        serializer.is_valid(raise_exception=True)
    except ValidationError as error:
        return "invalid", (error.detail, error.get_codes())
    return "valid", serializer.validated_data


@pytest.mark.parametrize("payload", PAYLOADS)
def test_order_create_validated_answers_as_is_valid(payload):
    assert outcome(payload) == drf_outcome(payload)


def test_order_create_validated_answers_as_is_valid_across_threads():
    payloads = PAYLOADS * 30
    expected = [drf_outcome(payload) for payload in payloads]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(outcome, payloads))

    assert answers == expected


def test_order_representation_renders_as_the_serializer(account, work_queue):
    pending = submit_limit(account, price="150.00")
    filled = order_submit(
        account=account,
        symbol="MSFT",
        side="buy",
        qty=Decimal("2.5"),
        type="market",
        client_order_id="fill-me",
    )
    work_queue()
    filled.refresh_from_db()
    canceled = order_cancel_request(account=account, order_id=submit_limit(account).pk)
    assert filled.filled_avg_price is not None  # the case with every price set
    render = JSONRenderer().render

    for order in (pending, filled, canceled):
        assert render(order_representation(order)) == render(OrderSerializer(order).data)
