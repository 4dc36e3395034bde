"""Choice enums of the trading domain, in Alpaca's vocabulary."""

from django.db import models


class BrokerProvider(models.TextChoices):
    SIMULATED = "simulated", "Simulated paper broker"
    ALPACA = "alpaca", "Alpaca"


class OrderSide(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class OrderType(models.TextChoices):
    MARKET = "market", "Market"
    LIMIT = "limit", "Limit"


class TimeInForce(models.TextChoices):
    DAY = "day", "Day"
    GTC = "gtc", "Good till canceled"
    IOC = "ioc", "Immediate or cancel"


class OrderStatus(models.TextChoices):
    """Alpaca's order statuses; `pending_new` is also ours until the broker has the order."""

    PENDING_NEW = "pending_new", "Pending new"
    ACCEPTED = "accepted", "Accepted"
    NEW = "new", "New"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    PENDING_CANCEL = "pending_cancel", "Pending cancel"
    PENDING_REPLACE = "pending_replace", "Pending replace"
    FILLED = "filled", "Filled"
    DONE_FOR_DAY = "done_for_day", "Done for day"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"
    REPLACED = "replaced", "Replaced"
    REJECTED = "rejected", "Rejected"
    STOPPED = "stopped", "Stopped"
    SUSPENDED = "suspended", "Suspended"
    CALCULATED = "calculated", "Calculated"
    ACCEPTED_FOR_BIDDING = "accepted_for_bidding", "Accepted for bidding"


TERMINAL_ORDER_STATUSES = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REPLACED,
        OrderStatus.REJECTED,
        OrderStatus.DONE_FOR_DAY,
    }
)
OPEN_ORDER_STATUSES = frozenset(set(OrderStatus) - TERMINAL_ORDER_STATUSES)


class PositionSide(models.TextChoices):
    LONG = "long", "Long"
    SHORT = "short", "Short"


class JobKind(models.TextChoices):
    SUBMIT = "submit", "Submit order"
    CANCEL = "cancel", "Cancel order"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class StreamChannel(models.TextChoices):
    """The change feeds of an account; each has its own strictly increasing sequence."""

    POSITIONS = "positions", "Positions"
    ORDERS = "orders", "Orders"
    ACCOUNT = "account", "Account"
