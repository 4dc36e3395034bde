"""Alpaca's wire JSON into our types, exactly; Alpaca's errors into reasons a trader reads."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError

from trading.broker.alpaca.errors import broker_error
from trading.broker.alpaca.mapping import (
    MappingError,
    balances_from_raw,
    broker_order_from_raw,
    broker_position_from_raw,
    trade_update_from_raw,
)
from trading.broker.types import (
    BrokerAuthError,
    BrokerNotCancelable,
    BrokerRejected,
    BrokerUnavailable,
)

# Alpaca's documented trade_updates example (streaming.md), trimmed to what we read.
DOC_EXAMPLE: dict[str, Any] = {
    "stream": "trade_updates",
    "data": {
        "event": "fill",
        "execution_id": "2f63ea93-423d-4169-b3f6-3fdafc10c418",
        "order": {
            "id": "7b7653c4-7468-494a-aeb3-d5f255789473",
            "client_order_id": "7b7653c4-7468-494a-aeb3-d5f255789473",
            "created_at": "2021-06-08T17:06:28.614744Z",
            "updated_at": "2021-06-08T17:06:28.654245Z",
            "submitted_at": "2021-06-08T17:06:28.611542Z",
            "filled_at": "2021-06-08T17:06:28.654245451Z",
            "symbol": "AAPL",
            "order_type": "market",
            "type": "market",
            "side": "buy",
            "time_in_force": "day",
            "qty": "1790.86",
            "filled_qty": "1790.86",
            "filled_avg_price": "105.8988475",
            "limit_price": None,
            "status": "filled",
        },
        "position_qty": "1790.86",
        "price": "105.8988475",
        "qty": "1790.86",
        "timestamp": "2021-06-08T17:06:28.654245451Z",
    },
}


def test_a_trade_update_keeps_every_decimal_and_time_exact():
    update = trade_update_from_raw(DOC_EXAMPLE)

    assert update.event == "fill"
    assert update.execution_id == "2f63ea93-423d-4169-b3f6-3fdafc10c418"
    assert update.price == Decimal("105.8988475")
    assert update.qty == update.position_qty == Decimal("1790.86")
    assert update.timestamp == datetime(2021, 6, 8, 17, 6, 28, 654245, tzinfo=UTC)
    order = update.order
    assert order.broker_order_id == order.client_order_id
    assert (order.qty, order.filled_qty) == (Decimal("1790.86"), Decimal("1790.86"))
    assert order.filled_avg_price == Decimal("105.8988475")
    assert order.limit_price is None
    assert order.submitted_at.tzinfo is not None and order.updated_at.tzinfo is not None


def test_the_data_object_alone_is_accepted_too():
    assert trade_update_from_raw(DOC_EXAMPLE["data"]).event == "fill"


def test_a_status_event_has_no_execution():
    data = {**DOC_EXAMPLE["data"], "event": "canceled"}
    for key in ("execution_id", "price", "qty", "position_qty"):
        data.pop(key)

    update = trade_update_from_raw({"stream": "trade_updates", "data": data})

    assert update.event == "canceled"
    assert update.execution_id is None and update.price is None and update.qty is None


@pytest.mark.parametrize(
    "broken",
    [
        {"event": "fill", "timestamp": "2021-06-08T17:06:28Z"},  # no order
        {"event": "fill", "order": {"id": "x"}, "timestamp": "2021-06-08T17:06:28Z"},
        {**DOC_EXAMPLE["data"], "timestamp": "soon"},
        {**DOC_EXAMPLE["data"], "price": "a lot"},
    ],
)
def test_unreadable_updates_raise_a_mapping_error(broken):
    with pytest.raises(MappingError):
        trade_update_from_raw({"stream": "trade_updates", "data": broken})


def test_rest_order_with_order_type_only_and_naive_times():
    order = broker_order_from_raw(
        {
            "id": "o1",
            "client_order_id": "c1",
            "created_at": "2024-01-02T15:00:00",
            "symbol": "MSFT",
            "order_type": "limit",
            "side": "sell",
            "time_in_force": "gtc",
            "qty": "3",
            "limit_price": "401.25",
            "filled_qty": "0",
            "status": "new",
        }
    )

    assert order.type == "limit"
    assert order.limit_price == Decimal("401.25")
    assert order.submitted_at == order.updated_at == datetime(2024, 1, 2, 15, tzinfo=UTC)


def test_positions_are_signed_and_balances_exact():
    short = broker_position_from_raw(
        {"symbol": "TSLA", "qty": "-5", "side": "short", "avg_entry_price": "180.5"}
    )
    lenient = broker_position_from_raw(
        {"symbol": "TSLA", "qty": "5", "side": "short", "avg_entry_price": "180.5"}
    )
    balances = balances_from_raw(
        {"cash": "-23140.2", "equity": "103820.56", "last_equity": "103000", "status": "ACTIVE"}
    )

    assert short.qty == lenient.qty == Decimal("-5")
    assert balances.cash == Decimal("-23140.2")
    assert balances.buying_power == Decimal("0")  # absent
    assert balances.status == "ACTIVE"


def api_error(status: int, body: str) -> APIError:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    return APIError(body, requests.HTTPError(response=response))


@pytest.mark.parametrize(
    ("status", "body", "cancel", "kind", "message"),
    [
        (401, '{"code":40110000,"message":"request is not authorized"}', False, BrokerAuthError,
         "Alpaca refused the API keys (request is not authorized)."),
        (401, '{"message": "unauthorized"}', False, BrokerAuthError,
         "Alpaca refused the API keys (unauthorized)."),
        (403, '{"buying_power":"176531.28","code":40310000,"cost_basis":"48640000",'
              '"message":"insufficient buying power"}', False, BrokerRejected,
         "Insufficient buying power at Alpaca: this order needs $48,640,000.00 "
         "and $176,531.28 is available."),
        (403, '{"available_qty":"0","code":40310000,"message":"insufficient qty available"}',
         False, BrokerRejected, "Alpaca rejected the order: insufficient qty available."),
        (403, '{"message": "forbidden."}', False, BrokerAuthError,
         "Alpaca refused the request (forbidden.)."),
        (404, '{"code":40410000,"message":"order not found"}', False, BrokerRejected,
         "Alpaca does not know this order (order not found)."),
        (422, '{"code":42210000,"message":"order is already in \\"filled\\" state"}', True,
         BrokerNotCancelable,
         'Alpaca cannot cancel the order: order is already in "filled" state.'),
        (422, '{"code":40010001,"message":"qty must be > 0"}', False, BrokerRejected,
         "Alpaca rejected the order: qty must be > 0."),
        (429, "rate limit exceeded", False, BrokerUnavailable,
         "Alpaca's rate limit was reached (HTTP 429); retrying later."),
        (504, "<html>gateway timeout</html>", False, BrokerUnavailable,
         "Alpaca is unavailable (HTTP 504): <html>gateway timeout</html>"),
    ],
)  # fmt: skip
def test_http_errors_become_broker_errors_with_plain_reasons(status, body, cancel, kind, message):
    error = broker_error(api_error(status, body), cancel=cancel)

    assert type(error) is kind
    assert str(error) == message


def test_network_failures_are_transient():
    assert isinstance(broker_error(requests.ConnectionError("refused")), BrokerUnavailable)
    assert isinstance(broker_error(requests.ReadTimeout("slow")), BrokerUnavailable)
    assert isinstance(broker_error(ValueError("limit_price must be set")), BrokerRejected)
