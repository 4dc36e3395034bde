"""Price-caused events written straight to their wire JSON, the bytes pydantic would dump.

A price tick produces ~11,000 events (a position_update per holder and symbol, an
account_update per account); built as validated models and dumped one by one they cost
more than marking the positions. These encoders read the same rows the same way
(factories.column_plan, factories.account_row: decimals at their column's precision),
take field names and order from the schemas, and format each value as pydantic's JSON
does (a Decimal as str(), a UTC timestamp with a Z); tests/realtime/test_encoded_events.py
compares them byte for byte with model_dump_json. A schema field of another kind fails
at import, so a schema change cannot make them drift silently.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, Literal, NamedTuple, get_args, get_origin

from realtime.events.factories import account_row, column_plan
from realtime.events.schemas import (
    AccountData,
    AccountUpdate,
    BatchUpdate,
    ChannelEvent,
    PositionData,
    PositionUpdate,
    Schema,
    utc_iso,
)
from trading.models import BrokerAccount, Position


class EncodedEvent(NamedTuple):
    """A channel event, or a batch of them, already in its wire JSON, with what the
    publisher routes, coalesces and orders it by. (A NamedTuple: a frozen dataclass's
    __init__ cost as much as writing the JSON.)"""

    type: str
    channel: str
    first_seq: int
    seq: int
    # As on the wire (utc_iso), and in epoch seconds (latency statistics).
    ts: str
    changed_at: float
    # What coalescing keys it by (a position's symbol, "account"); "" for a batch.
    key: str
    # Events it carries: 1, or a batch's.
    size: int
    text: str


# The last timestamp written: every event of a committed batch shares one.
_last_stamp: tuple[datetime | None, str, float] = (None, "", 0.0)


def _stamp(ts: datetime) -> tuple[str, float]:
    """`ts` as on the wire and in epoch seconds."""
    global _last_stamp
    last = _last_stamp
    if last[0] is ts:
        return last[1], last[2]
    _last_stamp = (ts, utc_iso(ts), ts.timestamp())
    return _last_stamp[1], _last_stamp[2]


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    return get_origin(annotation) is Literal and all(
        isinstance(a, str) for a in get_args(annotation)
    )


def _template(schema: type[Schema]) -> str:
    """The schema's JSON object with a %s per field, in the schema's order: a Decimal is
    quoted str() (as pydantic writes it), a string is given already JSON-encoded."""
    parts = []
    for name, info in schema.model_fields.items():
        if info.annotation is Decimal:
            parts.append(f'"{name}":"%s"')
        elif _is_text(info.annotation):
            parts.append(f'"{name}":%s')
        else:
            raise TypeError(f"{schema.__name__}.{name}: no encoder for {info.annotation}")
    return "{" + ",".join(parts) + "}"


def _json_text(value: str) -> str:
    # Symbols and sides are plain ASCII words: nothing to escape.
    if value.isascii() and value.isalnum():
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def _envelope(schema: type[Schema], data: type[Schema]) -> str:
    """The event's JSON with %-placeholders for seq, ts and then each data field."""
    fields = schema.model_fields
    if (
        list(fields) != ["seq", "ts", "type", "channel", "data"]
        or fields["data"].annotation is not data
    ):
        raise TypeError(f"{schema.__name__}'s fields changed: update realtime.events.encoded")
    kind, channel = fields["type"].default, fields["channel"].default
    return f'{{"seq":%d,"ts":"%s","type":"{kind}","channel":"{channel}","data":{_template(data)}}}'


def _batch_envelope() -> str:
    if list(BatchUpdate.model_fields) != ["type", "channel", "from_seq", "seq", "ts", "events"]:
        raise TypeError("BatchUpdate's fields changed: update realtime.events.encoded")
    kind = BatchUpdate.model_fields["type"].default
    return f'{{"type":"{kind}","channel":"%s","from_seq":%d,"seq":%d,"ts":"%s","events":[%s]}}'


class _PositionReader:
    """A position's PositionData values in schema order, read without a per-field loop.

    The decimals come from their columns at the column's precision (factories.column_plan,
    the rule REST and the validated builder follow), in one attrgetter and one map; the
    text fields (symbol, side) are put in at their places.
    """

    def __init__(self) -> None:
        plan = column_plan(PositionData, Position)
        decimals = [(i, name, q) for i, (name, q) in enumerate(plan) if q is not None]
        texts = [(i, name) for i, (name, q) in enumerate(plan) if q is None]
        if [name for _, name in texts] != ["symbol", "side"]:
            raise TypeError("PositionData's text fields changed: update realtime.events.encoded")
        self.read = attrgetter(*(name for _, name, _ in decimals))
        self.quanta = [q for _, _, q in decimals]
        self.symbol_at, self.side_at = (i for i, _ in texts)  # symbol first: inserted first

    def values(self, position: Position) -> list[Any]:
        values: list[Any] = list(map(Decimal.quantize, self.read(position), self.quanta))
        qty = position.qty
        side = "flat" if qty == 0 else ("long" if qty > 0 else "short")
        values.insert(self.symbol_at, _json_text(position.symbol))
        values.insert(self.side_at, _json_text(side))
        return values


_POSITION_UPDATE = _envelope(PositionUpdate, PositionData)
_ACCOUNT_UPDATE = _envelope(AccountUpdate, AccountData)
_ACCOUNT_FIELDS = list(AccountData.model_fields)
if any(info.annotation is not Decimal for info in AccountData.model_fields.values()):
    raise TypeError("AccountData is no longer all decimals: update realtime.events.encoded")
_BATCH = _batch_envelope()
_POSITION_TYPE = PositionUpdate.model_fields["type"].default
_POSITION_CHANNEL = PositionUpdate.model_fields["channel"].default
_ACCOUNT_TYPE = AccountUpdate.model_fields["type"].default
_ACCOUNT_CHANNEL = AccountUpdate.model_fields["channel"].default
_positions = _PositionReader()


def encode_position_update(position: Position, *, seq: int, ts: datetime) -> EncodedEvent:
    """What create_position_update_event(...).model_dump_json() writes."""
    stamp, changed_at = _stamp(ts)
    text = _POSITION_UPDATE % (seq, stamp, *_positions.values(position))
    return EncodedEvent(
        _POSITION_TYPE, _POSITION_CHANNEL, seq, seq, stamp, changed_at, position.symbol, 1, text
    )


def encode_account_update(account: BrokerAccount, *, seq: int, ts: datetime) -> EncodedEvent:
    """What create_account_update_event(...).model_dump_json() writes."""
    stamp, changed_at = _stamp(ts)
    row = account_row(account)
    text = _ACCOUNT_UPDATE % (seq, stamp, *(row[name] for name in _ACCOUNT_FIELDS))
    return EncodedEvent(
        _ACCOUNT_TYPE, _ACCOUNT_CHANNEL, seq, seq, stamp, changed_at, "account", 1, text
    )


def encode_event(event: ChannelEvent) -> EncodedEvent:
    """A validated event in the same form (pydantic dumps it)."""
    key = "account" if isinstance(event, AccountUpdate) else getattr(event.data, "symbol", "")
    return EncodedEvent(
        event.type,
        event.channel,
        event.seq,
        event.seq,
        utc_iso(event.ts),
        event.ts.timestamp(),
        key,
        1,
        event.model_dump_json(),
    )


def encode_batch(events: Sequence[EncodedEvent], *, from_seq: int) -> EncodedEvent:
    """What create_batch_event(...).model_dump_json() writes for these events (one channel,
    in seq order): the batch's seq and ts are its newest event's."""
    last = max(events, key=lambda e: e.seq)
    channel = events[0].channel
    text = _BATCH % (channel, from_seq, last.seq, last.ts, ",".join(e.text for e in events))
    return EncodedEvent(
        "batch", channel, from_seq, last.seq, last.ts, last.changed_at, "", len(events), text
    )
