"""Builders of events from trading's objects; the only place that maps rows to payloads."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, get_args

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model

from realtime.events.schemas import (
    AccountData,
    AccountSnapshotData,
    AccountUpdate,
    BatchUpdate,
    ChannelName,
    FillData,
    OrderData,
    OrdersSnapshotData,
    OrderUpdate,
    PositionData,
    PositionsSnapshotData,
    PositionUpdate,
    Schema,
    Snapshot,
    TradeExecuted,
)
from trading.models import BrokerAccount, Fill, Order, Position
from trading.money import RATIO_PLACES


@cache
def _decimal_fields(schema: type[Schema]) -> frozenset[str]:
    """The schema's Decimal fields (nullable ones too): each a column of the row's model."""
    return frozenset(
        name
        for name, info in schema.model_fields.items()
        if Decimal in (get_args(info.annotation) or (info.annotation,))
    )


@cache
def column_plan(schema: type[Schema], model: type[Model]) -> tuple[tuple[str, Decimal | None], ...]:
    """Each field of `schema` with the precision of its `model` column (None: no decimal
    column of that name), worked out once rather than per row."""
    decimals = _decimal_fields(schema)
    plan = []
    for name in schema.model_fields:
        quantum = None
        if name in decimals:
            try:
                places = model._meta.get_field(name).decimal_places  # type: ignore[union-attr]
            except FieldDoesNotExist:
                places = None  # a property (day_pl): always given
            quantum = None if places is None else Decimal(1).scaleb(-places)
        plan.append((name, quantum))
    return tuple(plan)


def _row(schema: type[Schema], instance: Model, **given: Any) -> dict[str, Any]:
    """Every field of `schema` read from `instance`, but those `given`; decimals at the
    column's precision, so the socket prints exactly what REST prints."""
    row: dict[str, Any] = {}
    for name, quantum in column_plan(schema, type(instance)):
        if name in given:
            row[name] = given[name]
            continue
        value = getattr(instance, name)
        if quantum is not None and value is not None:
            value = Decimal(value).quantize(quantum)
        row[name] = value
    return row


def position_row(position: Position) -> dict[str, Any]:
    """A PositionData's values (realtime.events.encoded writes them without the model)."""
    side = "flat" if position.qty == 0 else ("long" if position.qty > 0 else "short")
    return _row(PositionData, position, side=side)


def account_row(account: BrokerAccount) -> dict[str, Any]:
    """An AccountData's values (realtime.events.encoded writes them without the model)."""
    return _row(
        AccountData,
        account,
        day_pl=account.day_pl,
        # At REST's precision even when undefined (ratio() gives a bare 0 for last_equity 0).
        day_pl_pct=account.day_pl_pct.quantize(RATIO_PLACES),
    )


def position_data(position: Position) -> PositionData:
    return PositionData(**position_row(position))


def order_data(order: Order) -> OrderData:
    return OrderData(**_row(OrderData, order, id=str(order.pk)))


def account_data(account: BrokerAccount) -> AccountData:
    return AccountData(**account_row(account))


def fill_data(fill: Fill) -> FillData:
    return FillData(**_row(FillData, fill, order_id=str(fill.order_id)))


def create_position_update_event(position: Position, *, seq: int, ts: datetime) -> PositionUpdate:
    return PositionUpdate(seq=seq, ts=ts, data=position_data(position))


def create_order_update_event(order: Order, *, seq: int, ts: datetime) -> OrderUpdate:
    return OrderUpdate(seq=seq, ts=ts, data=order_data(order))


def create_trade_executed_event(fill: Fill, *, seq: int, ts: datetime) -> TradeExecuted:
    return TradeExecuted(seq=seq, ts=ts, data=fill_data(fill))


def create_account_update_event(account: BrokerAccount, *, seq: int, ts: datetime) -> AccountUpdate:
    return AccountUpdate(seq=seq, ts=ts, data=account_data(account))


def create_batch_event(
    channel: ChannelName,
    events: Sequence[PositionUpdate | AccountUpdate | OrderUpdate | TradeExecuted],
    *,
    from_seq: int,
) -> BatchUpdate:
    last = max(events, key=lambda e: e.seq)
    return BatchUpdate(
        channel=channel, from_seq=from_seq, seq=last.seq, ts=last.ts, events=list(events)
    )


def create_positions_snapshot(positions: Iterable[Position], *, seq: int, ts: datetime) -> Snapshot:
    data = PositionsSnapshotData(positions=[position_data(p) for p in positions])
    return Snapshot(channel="positions", seq=seq, ts=ts, data=data)


def create_orders_snapshot(
    orders: Iterable[Order], fills: Iterable[Fill], *, seq: int, ts: datetime
) -> Snapshot:
    data = OrdersSnapshotData(
        orders=[order_data(o) for o in orders], fills=[fill_data(f) for f in fills]
    )
    return Snapshot(channel="orders", seq=seq, ts=ts, data=data)


def create_account_snapshot(account: BrokerAccount, *, seq: int, ts: datetime) -> Snapshot:
    return Snapshot(
        channel="account", seq=seq, ts=ts, data=AccountSnapshotData(account=account_data(account))
    )
