"""Builders of events from trading's objects; the only place that maps rows to payloads."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

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
    Snapshot,
    TradeExecuted,
)
from trading.models import BrokerAccount, Fill, Order, Position
from trading.money import RATIO_PLACES


def _decimals(instance: Model, names: Iterable[str]) -> dict[str, Decimal | None]:
    """Field values at the column's precision, so the socket prints exactly what REST prints."""
    values: dict[str, Decimal | None] = {}
    for name in names:
        value = getattr(instance, name)
        places = instance._meta.get_field(name).decimal_places  # type: ignore[union-attr]
        values[name] = (
            None if value is None else Decimal(value).quantize(Decimal(1).scaleb(-places))
        )
    return values


_POSITION_DECIMALS = (
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
_ORDER_DECIMALS = ("qty", "filled_qty", "filled_avg_price", "limit_price")
_ACCOUNT_DECIMALS = (
    "cash",
    "equity",
    "last_equity",
    "buying_power",
    "long_market_value",
    "short_market_value",
    "realized_pl",
    "realized_pl_today",
)


def position_data(position: Position) -> PositionData:
    side = "flat" if position.qty == 0 else ("long" if position.qty > 0 else "short")
    return PositionData(
        symbol=position.symbol,
        side=side,
        **_decimals(position, _POSITION_DECIMALS),
    )


def order_data(order: Order) -> OrderData:
    return OrderData(
        id=str(order.pk),
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        status=order.status,
        reject_reason=order.reject_reason,
        submitted_at=order.submitted_at,
        filled_at=order.filled_at,
        canceled_at=order.canceled_at,
        expired_at=order.expired_at,
        failed_at=order.failed_at,
        updated_at=order.updated_at,
        **_decimals(order, _ORDER_DECIMALS),
    )


def account_data(account: BrokerAccount) -> AccountData:
    return AccountData(
        day_pl=account.day_pl,
        # At REST's precision even when undefined (ratio() gives a bare 0 for last_equity 0).
        day_pl_pct=account.day_pl_pct.quantize(RATIO_PLACES),
        **_decimals(account, _ACCOUNT_DECIMALS),
    )


def fill_data(fill: Fill) -> FillData:
    return FillData(
        execution_id=fill.execution_id,
        order_id=str(fill.order_id),
        symbol=fill.symbol,
        side=fill.side,
        executed_at=fill.executed_at,
        **_decimals(fill, ("qty", "price")),
    )


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
