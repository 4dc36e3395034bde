"""Typed schemas of every frame on /ws/portfolio (pydantic v2, strict about unknown fields)."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeGuard

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = 1

ChannelName = Literal["positions", "orders", "account"]


class EventType(StrEnum):
    POSITION_UPDATE = "position_update"
    ORDER_UPDATE = "order_update"
    ACCOUNT_UPDATE = "account_update"
    TRADE_EXECUTED = "trade_executed"
    BATCH = "batch"
    SNAPSHOT = "snapshot"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    PING = "ping"
    PONG = "pong"
    ERROR = "error"


class Schema(BaseModel):
    # An undeclared field is a schema bug: fail loudly rather than drop it (Zulip's rule).
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Payloads: money and quantities are Decimals here, decimal strings on the wire. ---------


class PositionData(Schema):
    """A holding, marked at the current price; `qty` "0" and `side` "flat" mean closed."""

    symbol: str
    qty: Decimal
    side: Literal["long", "short", "flat"]
    avg_entry_price: Decimal
    current_price: Decimal
    lastday_price: Decimal
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pl: Decimal
    unrealized_plpc: Decimal
    unrealized_intraday_pl: Decimal
    unrealized_intraday_plpc: Decimal
    change_today: Decimal


class OrderData(Schema):
    """An order as REST shows it; `status` follows Alpaca's names (new, filled, ...)."""

    id: str
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["market", "limit"]
    time_in_force: str
    qty: Decimal
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    limit_price: Decimal | None
    status: str
    reject_reason: str
    submitted_at: AwareDatetime
    filled_at: AwareDatetime | None
    canceled_at: AwareDatetime | None
    expired_at: AwareDatetime | None
    failed_at: AwareDatetime | None
    updated_at: AwareDatetime | None


class AccountData(Schema):
    """The account's balances and today's P&L."""

    cash: Decimal
    equity: Decimal
    last_equity: Decimal
    buying_power: Decimal
    long_market_value: Decimal
    short_market_value: Decimal
    day_pl: Decimal
    day_pl_pct: Decimal
    realized_pl: Decimal
    realized_pl_today: Decimal


class FillData(Schema):
    """One execution of an order."""

    execution_id: str
    order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: Decimal
    price: Decimal
    executed_at: AwareDatetime


# --- Events: each carries its channel, its seq and the time of the domain change. -----------


class SequencedEvent(Schema):
    """A change on one channel: `seq` counts per channel, `ts` is when it happened."""

    seq: int = Field(ge=1)
    ts: AwareDatetime


class PositionUpdate(SequencedEvent):
    """A position changed: a fill, or a new price."""

    type: Literal["position_update"] = "position_update"
    channel: Literal["positions"] = "positions"
    data: PositionData


class OrderUpdate(SequencedEvent):
    """An order was accepted, filled (in part), canceled, expired or rejected."""

    type: Literal["order_update"] = "order_update"
    channel: Literal["orders"] = "orders"
    data: OrderData


class TradeExecuted(SequencedEvent):
    """An order filled, in whole or in part."""

    type: Literal["trade_executed"] = "trade_executed"
    channel: Literal["orders"] = "orders"
    data: FillData


class AccountUpdate(SequencedEvent):
    """Cash, equity or buying power changed."""

    type: Literal["account_update"] = "account_update"
    channel: Literal["account"] = "account"
    data: AccountData


ChannelEvent = Annotated[
    PositionUpdate | OrderUpdate | TradeExecuted | AccountUpdate, Field(discriminator="type")
]


class BatchUpdate(Schema):
    """Events `from_seq`..`seq` of one channel; superseded ones were coalesced away."""

    type: Literal["batch"] = "batch"
    channel: ChannelName
    from_seq: int = Field(ge=1)
    seq: int = Field(ge=1)
    ts: AwareDatetime
    events: list[ChannelEvent] = Field(min_length=1)


class PositionsSnapshotData(Schema):
    positions: list[PositionData]


class OrdersSnapshotData(Schema):
    orders: list[OrderData]
    fills: list[FillData]


class AccountSnapshotData(Schema):
    account: AccountData


class Snapshot(Schema):
    """A channel's whole state, consistent with every event up to and including `seq`."""

    type: Literal["snapshot"] = "snapshot"
    channel: ChannelName
    seq: int = Field(ge=0)
    ts: AwareDatetime
    data: PositionsSnapshotData | OrdersSnapshotData | AccountSnapshotData


class Subscribed(Schema):
    """Answers `subscribe`; one `snapshot` per channel follows."""

    type: Literal["subscribed"] = "subscribed"
    channels: list[ChannelName]


class Unsubscribed(Schema):
    """Answers `unsubscribe`; no more events of these channels."""

    type: Literal["unsubscribed"] = "unsubscribed"
    channels: list[ChannelName]


class Ping(Schema):
    """Server heartbeat; the client answers with any frame (`pong` or `ping`)."""

    type: Literal["ping"] = "ping"
    ts: AwareDatetime


class Pong(Schema):
    """Answers the client's `ping`."""

    type: Literal["pong"] = "pong"
    ts: AwareDatetime


class ErrorMessage(Schema):
    """A client frame was refused, or the server is about to close the socket."""

    type: Literal["error"] = "error"
    code: str
    message: str


PortfolioEvent = Annotated[
    PositionUpdate
    | OrderUpdate
    | TradeExecuted
    | AccountUpdate
    | BatchUpdate
    | Snapshot
    | Subscribed
    | Unsubscribed
    | Ping
    | Pong
    | ErrorMessage,
    Field(discriminator="type"),
]

# --- Client -> server --------------------------------------------------------------------------


class SubscribeRequest(Schema):
    """Start channels: the server answers `subscribed`, then a `snapshot` of each."""

    type: Literal["subscribe"]
    channels: list[ChannelName] = Field(min_length=1, max_length=3)


class UnsubscribeRequest(Schema):
    """Stop channels: the server answers `unsubscribed`."""

    type: Literal["unsubscribe"]
    channels: list[ChannelName] = Field(min_length=1, max_length=3)


class PingRequest(Schema):
    """Asks for a `pong`; also keeps the socket alive."""

    type: Literal["ping"]


class PongReply(Schema):
    """Answers the server's `ping` (any frame would do)."""

    type: Literal["pong"]


ClientMessage = Annotated[
    SubscribeRequest | UnsubscribeRequest | PingRequest | PongReply, Field(discriminator="type")
]

portfolio_event_adapter: TypeAdapter[PortfolioEvent] = TypeAdapter(PortfolioEvent)
client_message_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def parse_event(frame: dict[str, Any]) -> PortfolioEvent:
    """Validate a server frame (tests and tools use this; the browser has its own checks)."""
    return portfolio_event_adapter.validate_python(frame)


def is_position_update(event: object) -> TypeGuard[PositionUpdate]:
    return isinstance(event, PositionUpdate)


def is_order_update(event: object) -> TypeGuard[OrderUpdate]:
    return isinstance(event, OrderUpdate)


def is_account_update(event: object) -> TypeGuard[AccountUpdate]:
    return isinstance(event, AccountUpdate)


def is_trade_executed(event: object) -> TypeGuard[TradeExecuted]:
    return isinstance(event, TradeExecuted)


def is_batch(event: object) -> TypeGuard[BatchUpdate]:
    return isinstance(event, BatchUpdate)


def is_snapshot(event: object) -> TypeGuard[Snapshot]:
    return isinstance(event, Snapshot)


def json_schemas() -> dict[str, Any]:
    """JSON Schemas of both directions, as the wire carries them (decimals as strings)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "server_to_client": portfolio_event_adapter.json_schema(mode="serialization"),
        "client_to_server": client_message_adapter.json_schema(mode="validation"),
    }


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z, the form every `ts` takes."""
    return moment.isoformat().replace("+00:00", "Z")
