"""The fake's brokerage: accounts, orders, fills and positions, in Alpaca's JSON shapes.

It keeps its own arithmetic (not the app's domain code), so tests compare two independent
books. Every change that Alpaca would announce on `trade_updates` is handed to `emit`.
"""

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

ZERO = Decimal("0")
TERMINAL = {"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"}

Emit = Callable[[str, dict[str, Any]], None]  # (key_id, trade update data)


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def fmt(value: Decimal | None) -> str | None:
    """Alpaca's wire format for numbers: a plain decimal string."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@dataclass
class FakeOrder:
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "accepted"
    filled_qty: Decimal = ZERO
    filled_avg_price: Decimal | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    failed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "submitted_at": iso(self.created_at),
            "filled_at": iso(self.filled_at),
            "expired_at": None,
            "expires_at": None,
            "canceled_at": iso(self.canceled_at),
            "failed_at": iso(self.failed_at),
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.symbol)),
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": None,
            "qty": fmt(self.qty),
            "filled_qty": fmt(self.filled_qty),
            "filled_avg_price": fmt(self.filled_avg_price),
            "order_class": "",
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "position_intent": None,
            "time_in_force": self.time_in_force,
            "limit_price": fmt(self.limit_price),
            "stop_price": None,
            "status": self.status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }


@dataclass
class FakeAccount:
    key_id: str
    secret_key: str
    cash: Decimal
    auto_fill: bool = True
    last_equity: Decimal | None = None
    buying_power_override: Decimal | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # qty, avg
    orders: dict[str, FakeOrder] = field(default_factory=dict)

    def order(self, ref: str) -> FakeOrder | None:
        """By Alpaca's id or by our client_order_id."""
        return self.orders.get(ref) or next(
            (o for o in self.orders.values() if o.client_order_id == ref), None
        )


class FakeBroker:
    """Thread-safe state of every fake account; `prices` is the fake's market."""

    def __init__(self, emit: Emit) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, FakeAccount] = {}
        self.prices: dict[str, Decimal] = {}
        self._emit = emit

    def authenticate(self, key_id: str | None, secret_key: str | None) -> FakeAccount | None:
        account = self.accounts.get(key_id or "")
        return account if account and account.secret_key == secret_key else None

    # --- Balances -------------------------------------------------------------------------

    def market_value(self, account: FakeAccount, long: bool) -> Decimal:
        total = ZERO
        for symbol, (qty, avg) in account.positions.items():
            if (qty > 0) == long:
                total += cents(qty * self.prices.get(symbol, avg))
        return total

    def buying_power(self, account: FakeAccount) -> Decimal:
        if account.buying_power_override is not None:
            return account.buying_power_override
        reserved = sum(
            (
                cents((o.qty - o.filled_qty) * (o.limit_price or self.prices.get(o.symbol, ZERO)))
                for o in account.orders.values()
                if o.side == "buy" and o.status not in TERMINAL
            ),
            ZERO,
        )
        return max(account.cash - reserved, ZERO)

    def equity(self, account: FakeAccount) -> Decimal:
        long, short = self.market_value(account, True), self.market_value(account, False)
        return account.cash + long + short

    # --- Orders ---------------------------------------------------------------------------

    def submit(self, account: FakeAccount, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /v2/orders: (HTTP status, body)."""
        with self.lock:
            symbol = str(body.get("symbol") or "")
            if symbol not in self.prices:
                return 422, {"code": 42210000, "message": f'asset "{symbol}" not found'}
            cid = str(body.get("client_order_id") or uuid.uuid4())
            if account.order(cid) is not None:
                return 422, {"code": 40010001, "message": "client_order_id must be unique"}
            qty = Decimal(str(body["qty"]))
            limit = body.get("limit_price")
            order = FakeOrder(
                client_order_id=cid,
                symbol=symbol,
                side=str(body["side"]),
                type=str(body["type"]),
                time_in_force=str(body["time_in_force"]),
                qty=qty,
                limit_price=Decimal(str(limit)) if limit is not None else None,
            )
            if order.side == "buy":
                cost = cents(qty * (order.limit_price or self.prices[symbol]))
                available = self.buying_power(account)
                if cost > available:
                    return 403, {
                        "buying_power": fmt(available),
                        "code": 40310000,
                        "cost_basis": fmt(cost),
                        "message": "insufficient buying power",
                    }
            account.orders[order.id] = order
            response = order.to_json()
            order.status = "new"
            order.updated_at = now()
            self._event(account, order, "new")
            if account.auto_fill and order.type == "market":
                self.fill(account, order.id)
            return 200, response

    def fill(
        self,
        account: FakeAccount,
        ref: str,
        qty: Decimal | str | None = None,
        price: Decimal | str | None = None,
    ) -> dict[str, Any]:
        """Execute (part of) an open order; returns the trade update it announced."""
        with self.lock:
            order = account.order(ref)
            if order is None or order.status in TERMINAL:
                raise ValueError(f"order {ref} is not open")
            remaining = order.qty - order.filled_qty
            qty = min(Decimal(str(qty)) if qty is not None else remaining, remaining)
            price = Decimal(str(price)) if price is not None else self.prices[order.symbol]
            notional = order.filled_qty * (order.filled_avg_price or ZERO) + qty * price
            order.filled_qty += qty
            order.filled_avg_price = notional / order.filled_qty
            moment = now()
            order.updated_at = moment
            filled = order.filled_qty == order.qty
            order.status = "filled" if filled else "partially_filled"
            if filled:
                order.filled_at = moment
            self._move_position(account, order.symbol, qty if order.side == "buy" else -qty, price)
            account.cash += -cents(qty * price) if order.side == "buy" else cents(qty * price)
            return self._event(
                account,
                order,
                "fill" if filled else "partial_fill",
                execution_id=str(uuid.uuid4()),
                price=fmt(price),
                qty=fmt(qty),
                position_qty=fmt(account.positions.get(order.symbol, (ZERO, ZERO))[0]),
            )

    def _move_position(
        self, account: FakeAccount, symbol: str, delta: Decimal, price: Decimal
    ) -> None:
        qty, avg = account.positions.get(symbol, (ZERO, ZERO))
        new_qty = qty + delta
        if new_qty == 0:
            account.positions.pop(symbol, None)
        elif qty == 0 or (qty > 0) != (new_qty > 0):
            account.positions[symbol] = (new_qty, price)  # opened, or flipped through zero
        elif (qty > 0) == (delta > 0):
            blended = (abs(qty) * avg + abs(delta) * price) / abs(new_qty)
            account.positions[symbol] = (new_qty, blended.quantize(Decimal("0.00000001")))
        else:
            account.positions[symbol] = (new_qty, avg)  # reduced: the rest keeps its entry

    def end(self, account: FakeAccount, ref: str, status: str) -> dict[str, Any]:
        """Cancel, reject or expire an open order."""
        with self.lock:
            order = account.order(ref)
            if order is None or order.status in TERMINAL:
                raise ValueError(f"order {ref} is not open")
            order.status = status
            order.updated_at = now()
            if status == "canceled":
                order.canceled_at = order.updated_at
            elif status == "rejected":
                order.failed_at = order.updated_at
            return self._event(account, order, status)

    def _event(
        self, account: FakeAccount, order: FakeOrder, event: str, **extra: Any
    ) -> dict[str, Any]:
        timestamp = iso(order.updated_at)
        data = {"event": event, "timestamp": timestamp, "order": order.to_json(), **extra}
        self._emit(account.key_id, data)
        return data
