"""Broker-neutral value types and errors that every gateway speaks."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    # What the order may spend opening positions. The simulated venue caps its fills at
    # it; Alpaca ignores it and holds buying power by its own rules.
    buying_power_hold: Decimal | None = None


@dataclass(frozen=True)
class BrokerOrder:
    """The broker's view of an order (Alpaca's `Order` fields we use)."""

    broker_order_id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    status: str
    submitted_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BrokerPosition:
    symbol: str
    qty: Decimal  # signed: negative is short
    avg_entry_price: Decimal


@dataclass(frozen=True)
class TradeUpdate:
    """One `trade_updates` event, shaped like Alpaca's, so both brokers share one code path."""

    event: str  # new, fill, partial_fill, canceled, rejected, expired, ...
    order: BrokerOrder
    timestamp: datetime
    execution_id: str | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    position_qty: Decimal | None = None
    reason: str = ""


# Receives (account id, event); called inside the broker's transaction for the simulator.
# Its return value (trade_update_apply says whether it applied the event) is ignored.
TradeUpdateSink = Callable[[int, TradeUpdate], object]


class BrokerError(Exception):
    """Base of all broker failures; `str()` is a message a trader can read."""


class BrokerUnavailable(BrokerError):  # noqa: N818 - reads as the condition it names
    """Transient: network, timeout, 5xx, rate limit. The queue retries with backoff."""


class BrokerRejected(BrokerError):  # noqa: N818 - reads as the condition it names
    """Permanent: the broker refused the request; the order ends as rejected."""


class BrokerNotCancelable(BrokerRejected):
    """The order is already done at the broker."""


class BrokerAuthError(BrokerError):
    """The account's credentials were refused; retrying will not help."""
