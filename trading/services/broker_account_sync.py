"""A streaming broker's state into our books: updates applied once, resyncs, balances, status.

Alpaca's `trade_updates` can repeat an execution and loses whatever happened while the
socket was down. Each order's cumulative `filled_qty` (in every event and in REST) is the
watermark that makes both harmless: we book exactly the quantity we have not booked yet,
whichever way it reaches us, and never book it twice.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol, cast

from django.db import transaction

from trading import signals
from trading.broker.alpaca.mapping import AccountBalances
from trading.broker.gateway import BrokerGateway
from trading.broker.types import BrokerOrder, BrokerPosition, BrokerUnavailable, TradeUpdate
from trading.enums import (
    OPEN_ORDER_STATUSES,
    TERMINAL_ORDER_STATUSES,
    OrderSide,
    OrderStatus,
    OrderType,
    StreamChannel,
)
from trading.models import BrokerAccount, Order, Position
from trading.money import ZERO, to_avg_price, to_money
from trading.services.accounts import account_refresh
from trading.services.common import CAUSE_SYNC, account_lock, emit
from trading.services.fills import FILL_EVENTS, STATUS_EVENTS, trade_update_apply
from trading.services.position_sync import positions_sync

logger = logging.getLogger(__name__)

# broker_status values written by the stream host (the admin shows them).
STATUS_CONNECTING = "connecting"
STATUS_CONNECTED = "connected"
STATUS_RECONNECTING = "reconnecting"
STATUS_AUTH_FAILED = "auth_failed"
STATUS_ERROR = "error"
STATUS_STOPPED = "stopped"

# Reads of the broker's state per resync before giving up on a busy account.
SNAPSHOT_ATTEMPTS = 3


class ResyncGateway(BrokerGateway, Protocol):
    """What a resync reads from the broker besides positions."""

    def get_account(self) -> AccountBalances: ...

    def list_orders(
        self, *, status: str = "open", after: datetime | None = None
    ) -> list[BrokerOrder]: ...


@dataclass(frozen=True)
class ResyncResult:
    orders_changed: int
    positions_changed: list[str]
    balances_changed: bool

    @property
    def changed(self) -> bool:
        return bool(self.orders_changed or self.positions_changed or self.balances_changed)


def broker_status_set(*, account_id: int, status: str, error: str = "") -> bool:
    """Record the broker connection's state for operators; writes only when it changed."""
    updated = (
        BrokerAccount.objects.filter(pk=account_id)
        .exclude(broker_status=status, broker_error=error)
        .update(broker_status=status, broker_error=error[:2000])
    )
    return bool(updated)


def broker_balances_apply(*, account_id: int, balances: AccountBalances) -> bool:
    """Take cash and the day's opening equity from the broker; signal only a change.

    Equity and buying power are then derived from our books (account_refresh), exactly as
    every later price tick derives them, so they do not flip between two formulas.
    """
    with transaction.atomic():
        account = account_lock(account_id)
        cash, last_equity = to_money(balances.cash), to_money(balances.last_equity)
        moved = (account.cash, account.last_equity) != (cash, last_equity)
        if moved:
            account.cash, account.last_equity = cash, last_equity
            account.save(update_fields=["cash", "last_equity", "updated_at"])
        refreshed = account_refresh(account, cause=CAUSE_SYNC)
        if moved and not refreshed:
            emit(
                account,
                StreamChannel.ACCOUNT,
                signals.account_changed,
                account=account,
                cause=CAUSE_SYNC,
            )
    return moved or refreshed


def _supported(order: BrokerOrder) -> bool:
    return (
        order.type in OrderType.values
        and order.side in OrderSide.values
        and order.qty > 0
        and (order.type == OrderType.MARKET) == (order.limit_price is None)
    )


def broker_trade_update_apply(*, account_id: int, update: TradeUpdate) -> bool:
    """Apply one broker event; a fill books only what the order's cumulative fill adds."""
    if not _supported(update.order):
        # Notional, stop, bracket... orders placed elsewhere: positions sync covers their effect.
        logger.warning(
            "%s of a %s %s order %s is not mirrored",
            update.event,
            update.order.type or "?",
            update.order.side or "?",
            update.order.broker_order_id,
        )
        return False
    if update.event not in FILL_EVENTS or update.order.filled_qty <= 0:
        return trade_update_apply(account_id, update)
    with transaction.atomic():
        account_lock(account_id)  # the lock trade_update_apply takes: read and write as one
        ours = Order.objects.filter(
            account_id=account_id, client_order_id=update.order.client_order_id
        ).first()
        booked = ours.filled_qty if ours else ZERO
        booked_avg = (ours.filled_avg_price if ours else None) or ZERO
        cumulative = update.order.filled_qty
        if cumulative <= booked:
            logger.info(
                "execution %s of order %s already booked (%s of %s)",
                update.execution_id,
                update.order.broker_order_id,
                booked,
                cumulative,
            )
            return False
        gap = cumulative - booked
        if update.qty == gap and update.price and update.execution_id:
            return trade_update_apply(account_id, update)
        # Executions we never heard of: book the difference in one fill, at the price that
        # makes our average the broker's.
        average = update.order.filled_avg_price or update.price
        if average is None:
            logger.error("fill of order %s carries no price", update.order.broker_order_id)
            return False
        price = to_avg_price((cumulative * average - booked * booked_avg) / gap)
        execution_id = update.execution_id or f"{update.order.broker_order_id}:{cumulative}"
        return trade_update_apply(
            account_id,
            replace(
                update, qty=gap, price=price if price > 0 else average, execution_id=execution_id
            ),
        )


def broker_order_reconcile(*, account_id: int, broker_order: BrokerOrder) -> int:
    """Bring our copy of an order up to the broker's (missed fills, then status)."""
    ours = Order.objects.filter(
        account_id=account_id, client_order_id=broker_order.client_order_id
    ).first()
    booked = ours.filled_qty if ours else ZERO
    if (
        ours is None
        and booked == broker_order.filled_qty
        and broker_order.status in TERMINAL_ORDER_STATUSES
    ):
        return 0  # an order placed elsewhere that ended without trading: nothing to show
    changes = 0
    if broker_order.filled_qty > booked:
        filled = broker_order.filled_qty >= broker_order.qty
        update = TradeUpdate(
            "fill" if filled else "partial_fill",
            broker_order,
            broker_order.updated_at,
            execution_id=f"sync:{broker_order.broker_order_id}:{broker_order.filled_qty}",
        )
        changes += broker_trade_update_apply(account_id=account_id, update=update)
    if broker_order.status in STATUS_EVENTS and (
        ours is None or ours.status != broker_order.status
    ):
        update = TradeUpdate(broker_order.status, broker_order, broker_order.updated_at)
        changes += broker_trade_update_apply(account_id=account_id, update=update)
    return changes


def _orders_to_check(
    account_id: int, gateway: ResyncGateway, since: datetime | None
) -> list[BrokerOrder]:
    """The broker's open orders, those submitted since `since`, and every order we still
    think is open (it may have ended while we were not listening)."""
    found: dict[str, BrokerOrder] = {}
    listed = gateway.list_orders(status="open")
    if since is not None:
        listed += gateway.list_orders(status="all", after=since)
    for order in listed:
        known = found.get(order.client_order_id)
        if known is None or order.updated_at >= known.updated_at:
            found[order.client_order_id] = order
    ours_open = (
        Order.objects.filter(account_id=account_id, status__in=OPEN_ORDER_STATUSES)
        .exclude(status=OrderStatus.PENDING_NEW, broker_order_id__isnull=True)
        .exclude(client_order_id__in=list(found))
        .values_list("client_order_id", flat=True)
    )
    for client_order_id in ours_open:
        # One request each, but only for orders that ended while we were away.
        fetched = gateway.get_order_by_client_id(client_order_id)
        if fetched is not None:
            found[client_order_id] = fetched
    return sorted(found.values(), key=lambda o: (o.updated_at, o.submitted_at))


@dataclass(frozen=True)
class _Snapshot:
    """The broker's orders, positions and balances, read so that they agree."""

    orders: list[BrokerOrder]
    positions: list[BrokerPosition]
    balances: AccountBalances

    def list_positions(self) -> list[BrokerPosition]:  # what positions_sync reads
        return self.positions


def _fills(orders: list[BrokerOrder]) -> dict[str, tuple[Decimal, str]]:
    return {o.broker_order_id: (o.filled_qty, o.status) for o in orders}


def _snapshot(account_id: int, gateway: ResyncGateway, since: datetime | None) -> _Snapshot:
    """Orders, positions, balances, then the orders again: if no order moved meanwhile,
    the positions and balances contain exactly the fills the orders show. Otherwise an
    execution landed between the reads, and booking both would count it twice."""
    orders = _orders_to_check(account_id, gateway, since)
    for _ in range(SNAPSHOT_ATTEMPTS):
        positions, balances = gateway.list_positions(), gateway.get_account()
        again = _orders_to_check(account_id, gateway, since)
        if _fills(again) == _fills(orders):
            return _Snapshot(again, positions, balances)
        orders = again
    raise BrokerUnavailable("the broker's orders kept changing during the resync")


def _fills_in_flight(account_id: int, orders: list[BrokerOrder]) -> list[str]:
    """Orders the broker has filled further than we have booked."""
    booked = dict(
        Order.objects.filter(
            account_id=account_id, client_order_id__in=[o.client_order_id for o in orders]
        ).values_list("client_order_id", "filled_qty")
    )
    return [o.broker_order_id for o in orders if o.filled_qty > booked.get(o.client_order_id, ZERO)]


def broker_balances_settle(
    *, account_id: int, gateway: ResyncGateway, since: datetime | None
) -> bool | None:
    """After a burst of fills: the broker's cash, if it contains exactly the fills we booked.

    The balances are read first, the orders after. Fills only grow, so if no order is
    filled further than our books at the second read, none was at the first, and the cash
    holds no execution whose event is still on its way (taking it, then booking that event,
    would debit the execution twice). Otherwise nothing is written and None is returned:
    the event in flight schedules the next settle, and a lost one is the periodic resync's.
    The caller serializes this with the account's stream events, so our books hold still.
    """
    balances = gateway.get_account()
    pending = _fills_in_flight(account_id, _orders_to_check(account_id, gateway, since))
    if pending:
        logger.info(
            "account %s: fills of %s not booked yet; balances wait for them",
            account_id,
            ", ".join(pending),
        )
        return None
    return broker_balances_apply(account_id=account_id, balances=balances)


def broker_account_resync(
    *, account_id: int, gateway: ResyncGateway, since: datetime | None
) -> ResyncResult:
    """After a (re)connect: missed fills and statuses, then positions and balances.

    The caller serializes this with the account's stream events; events still queued
    behind it find their executions booked (the watermark) and change nothing. Only
    differences are written, so a resync that finds nothing new signals nothing.
    """
    snapshot = _snapshot(account_id, gateway, since)
    orders_changed = sum(
        broker_order_reconcile(account_id=account_id, broker_order=o) for o in snapshot.orders
    )
    account = BrokerAccount.objects.get(pk=account_id)
    positions_changed = positions_sync(account=account, gateway=cast(BrokerGateway, snapshot))
    balances_changed = broker_balances_apply(account_id=account_id, balances=snapshot.balances)
    result = ResyncResult(orders_changed, positions_changed, balances_changed)
    if result.changed:
        logger.warning("resync of account %s found missed changes: %s", account_id, result)
    return result


def position_qty_get(*, account_id: int, symbol: str) -> Decimal:
    """Our position's signed quantity (0 when flat)."""
    qty = Position.objects.filter(account_id=account_id, symbol=symbol).values_list(
        "qty", flat=True
    )
    return next(iter(qty), ZERO)
