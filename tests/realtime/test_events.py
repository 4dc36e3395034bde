"""Event schemas: strict, JSON-safe (decimal strings, UTC), exported as JSON Schema."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from realtime.events import (
    ErrorMessage,
    OrderUpdate,
    PositionUpdate,
    client_message_adapter,
    is_order_update,
    is_position_update,
    json_schemas,
    parse_event,
)
from realtime.events.schemas import AccountData


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ErrorMessage(code="x", message="y", hint="z")


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_event({"type": "ping", "ts": "2026-11-25T10:00:00"})


def test_money_serializes_as_decimal_strings() -> None:
    data = AccountData(
        cash=Decimal("98000.00"),
        equity=Decimal("100000.10"),
        last_equity=Decimal("1"),
        buying_power=Decimal("0.00"),
        long_market_value=Decimal("2000.10"),
        short_market_value=Decimal("0.00"),
        day_pl=Decimal("-1.05"),
        day_pl_pct=Decimal("0.000123"),
        realized_pl=Decimal("-12.50"),
        realized_pl_today=Decimal("0.00"),
    )
    dumped = data.model_dump(mode="json")
    assert dumped["cash"] == "98000.00"
    assert dumped["day_pl"] == "-1.05"
    assert all(isinstance(value, str) for value in dumped.values())


def test_parse_event_round_trips_and_type_guards_narrow() -> None:
    frame = {
        "type": "position_update",
        "channel": "positions",
        "seq": 3,
        "ts": "2026-11-25T15:00:00Z",
        "data": {
            k: "1"
            for k in (
                "qty",
                "avg_entry_price",
                "current_price",
                "lastday_price",
                "market_value",
                "cost_basis",
                "unrealized_pl",
                "unrealized_plpc",
                "unrealized_intraday_pl",
                "unrealized_intraday_plpc",
                "change_today",
            )
        }
        | {"symbol": "AAPL", "side": "long"},
    }
    event = parse_event(frame)
    assert is_position_update(event) and not is_order_update(event)
    assert isinstance(event, PositionUpdate)
    assert event.ts == datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert event.model_dump(mode="json")["ts"] == "2026-11-25T15:00:00Z"


def test_timestamps_are_emitted_in_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    dumped = ErrorMessage(code="a", message="b").model_dump(mode="json")
    assert dumped == {"type": "error", "code": "a", "message": "b"}
    moment = datetime(2026, 11, 25, 10, tzinfo=eastern)
    assert parse_event({"type": "ping", "ts": moment.isoformat()}).ts == moment


def test_client_messages_validate_channels_and_types() -> None:
    assert client_message_adapter.validate_python({"type": "subscribe", "channels": ["orders"]})
    for bad in (
        {"type": "subscribe", "channels": []},
        {"type": "subscribe", "channels": ["nope"]},
        {"type": "dance"},
        {"type": "ping", "extra": True},
    ):
        with pytest.raises(ValidationError):
            client_message_adapter.validate_python(bad)


def test_json_schema_exports_both_directions_with_string_money() -> None:
    schemas = json_schemas()
    server = schemas["server_to_client"]
    assert {
        "PositionUpdate",
        "OrderUpdate",
        "AccountUpdate",
        "TradeExecuted",
        "BatchUpdate",
        "Snapshot",
        "ErrorMessage",
        "Ping",
        "Pong",
    } <= set(server["$defs"])
    cash = server["$defs"]["AccountData"]["properties"]["cash"]
    assert cash["type"] == "string"
    assert set(schemas["client_to_server"]["discriminator"]["mapping"]) == {
        "subscribe",
        "unsubscribe",
        "ping",
        "pong",
    }
    assert OrderUpdate.model_fields["channel"].default == "orders"
