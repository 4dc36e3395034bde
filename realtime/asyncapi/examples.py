"""One or more example frames per message, built from the pydantic models (so they validate)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from realtime.error_codes import ErrorCode
from realtime.events.schemas import (
    AccountData,
    AccountSnapshotData,
    AccountUpdate,
    BatchUpdate,
    ErrorMessage,
    FillData,
    OrderData,
    OrdersSnapshotData,
    OrderUpdate,
    Ping,
    PingRequest,
    Pong,
    PongReply,
    PositionData,
    PositionsSnapshotData,
    PositionUpdate,
    Snapshot,
    Subscribed,
    SubscribeRequest,
    TradeExecuted,
    Unsubscribed,
    UnsubscribeRequest,
)


@dataclass(frozen=True)
class Example:
    name: str
    summary: str
    frame: BaseModel

    def payload(self) -> dict[str, Any]:
        return self.frame.model_dump(mode="json")


TS = datetime(2026, 11, 25, 22, 27, 34, 857023, tzinfo=UTC)
FILLED_AT = TS - timedelta(milliseconds=41)
SUBMITTED_AT = TS - timedelta(milliseconds=120)


def _position(symbol: str, qty: str, entry: str, lastday: str, price: str) -> PositionData:
    """A long position with every derived figure computed the way trading computes it."""
    held, entry_d, lastday_d, price_d = (
        Decimal(qty),
        Decimal(entry),
        Decimal(lastday),
        Decimal(price),
    )
    cents, ratio = Decimal("0.01"), Decimal("0.000001")
    value, cost = (held * price_d).quantize(cents), (held * entry_d).quantize(cents)
    change = ((price_d - lastday_d) / lastday_d).quantize(ratio)
    return PositionData(
        symbol=symbol,
        qty=held,
        side="long",
        avg_entry_price=entry_d,
        current_price=price_d,
        lastday_price=lastday_d,
        market_value=value,
        cost_basis=cost,
        unrealized_pl=value - cost,
        unrealized_plpc=((value - cost) / cost).quantize(ratio),
        unrealized_intraday_pl=(held * (price_d - lastday_d)).quantize(cents),
        unrealized_intraday_plpc=change,
        change_today=change,
    )


AAPL = _position("AAPL", "10.000000", "200.00000000", "198.50000000", "201.50000000")

AAPL_LATER = _position("AAPL", "10.000000", "200.00000000", "198.50000000", "201.75000000")
MSFT = _position("MSFT", "3.000000", "441.20000000", "449.00000000", "452.10000000")

MARKET_BUY = OrderData(
    id="42",
    client_order_id="9b1f0c3e-web",
    symbol="AAPL",
    side="buy",
    type="market",
    time_in_force="day",
    qty=Decimal("10.000000"),
    filled_qty=Decimal("10.000000"),
    filled_avg_price=Decimal("200.00000000"),
    limit_price=None,
    status="filled",
    reject_reason="",
    submitted_at=SUBMITTED_AT,
    filled_at=FILLED_AT,
    canceled_at=None,
    expired_at=None,
    failed_at=None,
    updated_at=FILLED_AT,
)

RESTING_LIMIT = MARKET_BUY.model_copy(
    update={
        "id": "43",
        "client_order_id": "c41d77aa-web",
        "symbol": "MSFT",
        "type": "limit",
        "time_in_force": "gtc",
        "qty": Decimal("5.000000"),
        "filled_qty": Decimal("0.000000"),
        "filled_avg_price": None,
        "limit_price": Decimal("440.00000000"),
        "status": "new",
        "filled_at": None,
        "updated_at": SUBMITTED_AT,
    }
)

FILL = FillData(
    execution_id="sim-42-1",
    order_id="42",
    symbol="AAPL",
    side="buy",
    qty=Decimal("10.000000"),
    price=Decimal("200.00000000"),
    executed_at=FILLED_AT,
)

ACCOUNT = AccountData(
    cash=Decimal("98000.00"),
    equity=Decimal("100015.00"),
    last_equity=Decimal("100000.00"),
    buying_power=Decimal("95800.00"),
    long_market_value=Decimal("2015.00"),
    short_market_value=Decimal("0.00"),
    day_pl=Decimal("15.00"),
    day_pl_pct=Decimal("0.000150"),
    realized_pl=Decimal("125.40"),
    realized_pl_today=Decimal("0.00"),
)

ALL_CHANNELS: list[Any] = ["positions", "orders", "account"]

EXAMPLES: dict[type[BaseModel], list[Example]] = {
    SubscribeRequest: [
        Example(
            "subscribe_all",
            "Subscribe to every channel",
            SubscribeRequest(type="subscribe", channels=ALL_CHANNELS),
        )
    ],
    UnsubscribeRequest: [
        Example(
            "unsubscribe_orders",
            "Stop the orders channel",
            UnsubscribeRequest(type="unsubscribe", channels=["orders"]),
        )
    ],
    PingRequest: [Example("client_ping", "Ask for a pong", PingRequest(type="ping"))],
    PongReply: [Example("client_pong", "Answer a heartbeat", PongReply(type="pong"))],
    Subscribed: [
        Example("subscribed_all", "Subscribed; snapshots follow", Subscribed(channels=ALL_CHANNELS))
    ],
    Unsubscribed: [
        Example("unsubscribed_orders", "Orders stopped", Unsubscribed(channels=["orders"]))
    ],
    Snapshot: [
        Example(
            "positions_snapshot",
            "Every open position",
            Snapshot(
                channel="positions", seq=7, ts=TS, data=PositionsSnapshotData(positions=[AAPL])
            ),
        ),
        Example(
            "orders_snapshot",
            "Open and recent orders with their fills",
            Snapshot(
                channel="orders",
                seq=12,
                ts=TS,
                data=OrdersSnapshotData(orders=[RESTING_LIMIT, MARKET_BUY], fills=[FILL]),
            ),
        ),
        Example(
            "account_snapshot",
            "The account's balances",
            Snapshot(channel="account", seq=5, ts=TS, data=AccountSnapshotData(account=ACCOUNT)),
        ),
    ],
    PositionUpdate: [
        Example(
            "position_opened",
            "A buy filled: the position now holds 10 AAPL",
            PositionUpdate(seq=8, ts=FILLED_AT, data=AAPL),
        )
    ],
    OrderUpdate: [
        Example(
            "order_filled",
            "The market order filled",
            OrderUpdate(seq=13, ts=FILLED_AT, data=MARKET_BUY),
        )
    ],
    AccountUpdate: [
        Example(
            "account_after_fill",
            "Balances after the fill",
            AccountUpdate(seq=6, ts=FILLED_AT, data=ACCOUNT),
        )
    ],
    TradeExecuted: [
        Example(
            "trade_executed",
            "10 AAPL bought at 200",
            TradeExecuted(seq=14, ts=FILLED_AT, data=FILL),
        )
    ],
    BatchUpdate: [
        Example(
            "positions_batch",
            "Price moves within one window; seq 9 was superseded by 10",
            BatchUpdate(
                channel="positions",
                from_seq=9,
                seq=11,
                ts=TS,
                events=[
                    PositionUpdate(seq=10, ts=TS, data=AAPL_LATER),
                    PositionUpdate(seq=11, ts=TS, data=MSFT),
                ],
            ),
        )
    ],
    Ping: [Example("server_ping", "Heartbeat", Ping(ts=TS))],
    Pong: [Example("server_pong", "Answer to a client ping", Pong(ts=TS))],
    ErrorMessage: [
        Example(
            "unknown_channel",
            "A subscribe named a channel that does not exist",
            ErrorMessage(
                code=ErrorCode.UNKNOWN_CHANNEL.value,
                message="Unknown channel(s) ['news']; available: positions, orders, account.",
            ),
        )
    ],
}
