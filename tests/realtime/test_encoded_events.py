"""Price-caused events encoded without pydantic are byte for byte what the schemas dump."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from realtime.coalescing import CoalescingBuffer
from realtime.events import (
    create_account_update_event,
    create_batch_event,
    create_position_update_event,
    parse_event,
)
from realtime.events.encoded import (
    encode_account_update,
    encode_batch,
    encode_event,
    encode_position_update,
)
from realtime.wire import WireFrame
from trading.models import BrokerAccount, Position

D = Decimal
TS = datetime(2026, 12, 3, 2, 40, 1, 123456, tzinfo=UTC)
ON_THE_SECOND = datetime(2026, 12, 3, 2, 40, 1, tzinfo=UTC)


def position(**values) -> Position:
    fields = {
        "symbol": "AAPL",
        "qty": D("10"),
        "avg_entry_price": D("200.12345678"),
        "current_price": D("210.01"),
        "lastday_price": D("200"),
        "market_value": D("2100.10"),
        "cost_basis": D("2001.23"),
        "unrealized_pl": D("98.87"),
        "unrealized_plpc": D("0.049405"),
        "unrealized_intraday_pl": D("100.10"),
        "unrealized_intraday_plpc": D("0.05005"),
        "change_today": D("0"),  # ratio() gives a bare 0 when undefined
    }
    return Position(**{**fields, **values})


POSITIONS = [
    position(),
    position(symbol="BRK.B", qty=D("-3.5"), market_value=D("-735.04")),  # short, a dot
    position(qty=D("0"), market_value=D("0.00"), unrealized_pl=D("-0.00")),  # flat
    position(current_price=D("9999999.99999999"), market_value=D("99999999999.99")),
    position(unrealized_plpc=D("-1E-6"), change_today=D("0E-8")),  # exponent forms
]


@pytest.mark.parametrize("ts", [TS, ON_THE_SECOND])
@pytest.mark.parametrize("held", POSITIONS, ids=lambda p: f"{p.symbol}:{p.qty}")
def test_encode_position_update_is_what_pydantic_dumps(held, ts):
    expected = create_position_update_event(held, seq=7, ts=ts).model_dump_json()
    encoded = encode_position_update(held, seq=7, ts=ts)
    assert encoded.text == expected
    assert (encoded.type, encoded.channel, encoded.seq, encoded.key) == (
        "position_update",
        "positions",
        7,
        held.symbol,
    )
    assert encoded.changed_at == ts.timestamp()


@pytest.mark.parametrize(
    "balances",
    [
        {},
        {"last_equity": D("0")},  # day_pl_pct undefined
        {"cash": D("-12.5"), "equity": D("1E+3"), "realized_pl_today": D("-0.00")},
    ],
)
def test_encode_account_update_is_what_pydantic_dumps(balances):
    fields = {
        "cash": D("96000.00"),
        "equity": D("100100.00"),
        "last_equity": D("100000.00"),
        "buying_power": D("192000.00"),
        "long_market_value": D("4100.00"),
        "short_market_value": D("0.00"),
        "realized_pl": D("12.34"),
        "realized_pl_today": D("1.5"),
    }
    account = BrokerAccount(**{**fields, **balances})
    expected = create_account_update_event(account, seq=3, ts=TS).model_dump_json()
    encoded = encode_account_update(account, seq=3, ts=TS)
    assert encoded.text == expected
    assert (encoded.channel, encoded.key, encoded.seq) == ("account", "account", 3)


def test_encode_batch_is_what_pydantic_dumps():
    events = [
        create_position_update_event(p, seq=seq, ts=TS if seq < 4 else ON_THE_SECOND)
        for seq, p in enumerate(POSITIONS[:4], start=2)
    ]
    expected = create_batch_event("positions", events, from_seq=1).model_dump_json()
    encoded = encode_batch([encode_event(e) for e in events], from_seq=1)
    assert encoded.text == expected
    assert (encoded.first_seq, encoded.seq, encoded.size) == (1, 5, 4)
    parse_event(WireFrame.of(encoded).payload())  # and the schema accepts it


def test_buffer_of_encoded_events_drains_to_the_validated_batch_text():
    """The publisher buffers encoded events: its batch is the text a validated one dumps."""
    validated, encoded = CoalescingBuffer(), CoalescingBuffer()
    for seq, held in enumerate([POSITIONS[0], POSITIONS[1], POSITIONS[0]], start=4):
        validated.add(create_position_update_event(held, seq=seq, ts=TS))
        encoded.add(encode_position_update(held, seq=seq, ts=TS))
    from_encoded, from_validated = encoded.drain(), validated.drain()
    assert from_encoded is not None and from_validated is not None
    assert WireFrame.of(from_encoded) == WireFrame.of(from_validated)


def test_a_lone_encoded_event_drains_as_itself():
    buffer = CoalescingBuffer()
    event = encode_position_update(POSITIONS[0], seq=9, ts=TS)
    buffer.add(event)
    assert buffer.drain() is event
