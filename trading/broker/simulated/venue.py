"""The simulated broker's venue: accepts, matches and cancels orders, emitting trade updates."""

import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from trading.broker.types import (
    BrokerNotCancelable,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerUnavailable,
    OrderRequest,
    TradeUpdate,
    TradeUpdateSink,
)
from trading.domain import (
    Holding,
    fill_qty_within_hold,
    holding_after_fill,
    order_reservation,
)
from trading.enums import TERMINAL_ORDER_STATUSES, OrderSide, OrderStatus, OrderType
from trading.models import Instrument, SimulatedOrder, SimulatedPosition
from trading.money import ZERO, to_avg_price
from trading.services.row_reads import row_read
from trading.services.row_writes import row_insert, row_update

# Set while the venue hands one order's trade updates to the sink inside one transaction
# (its `new`, then its fills): the sink may keep what the first update locked and read for
# the next ones (trading.services.fills), as nothing else runs in between. The order was
# accepted in that same transaction, so its execution ids are new: none is a replay.
venue_booking: ContextVar[object | None] = ContextVar("venue_booking", default=None)


class VenueBooking:
    """One order's booking: `following` counts its updates still to come after the one
    being handed over, so the sink may leave a write to the next (trading.services.fills)."""

    def __init__(self, updates: int) -> None:
        self.following = updates


def to_broker_order(order: SimulatedOrder) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=str(order.broker_order_id),
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        qty=order.qty,
        limit_price=order.limit_price,
        filled_qty=order.filled_qty,
        filled_avg_price=order.filled_avg_price,
        status=order.status,
        submitted_at=order.submitted_at,
        updated_at=order.updated_at,
    )


def _is_marketable(order: SimulatedOrder, price: Decimal) -> bool:
    if order.type == OrderType.MARKET:
        return True
    if order.limit_price is None:  # the order_limit_price_matches_type constraint forbids it
        return False
    if order.side == OrderSide.BUY:
        return price <= order.limit_price
    return price >= order.limit_price


def _venue_position(order: SimulatedOrder) -> SimulatedPosition | None:
    """The account's venue position in the order's symbol, locked (read once per execution).

    Locked: two workers booking the same account and symbol at once would each move the
    quantity they read, and the second write would undo the first. The lock is taken before
    the account's (the sink's), on every path that books, so the two never wait on each
    other in opposite orders. Where no row exists yet, two first executions both insert:
    one fails on the unique key and its booking rolls back whole, to be retried.
    """
    return row_read(
        SimulatedPosition, for_update=True, account_id=order.account_id, symbol=order.symbol
    )


def _move_venue_position(
    order: SimulatedOrder, row: SimulatedPosition | None, qty: Decimal, price: Decimal
) -> Decimal:
    """Book the execution on the venue position `row`; returns the quantity after it."""
    holding = Holding(row.qty, row.avg_entry_price, row.avg_entry_price) if row else None
    after = holding_after_fill(holding, order.side, qty, price)
    if after is None:
        if row:
            row.delete()
        return ZERO
    if row:
        row.qty, row.avg_entry_price = after.qty, after.avg_entry_price
        row_update(row, ["qty", "avg_entry_price"])
    else:
        row_insert(
            SimulatedPosition(
                account_id=order.account_id,
                symbol=order.symbol,
                qty=after.qty,
                avg_entry_price=after.avg_entry_price,
            )
        )
    return after.qty


def _fill(
    order: SimulatedOrder,
    row: SimulatedPosition | None,
    qty: Decimal,
    price: Decimal,
    now: datetime,
) -> TradeUpdate:
    position_before = row.qty if row else ZERO
    previous_notional = order.filled_qty * (order.filled_avg_price or ZERO)
    order.filled_qty += qty
    order.filled_avg_price = to_avg_price((previous_notional + qty * price) / order.filled_qty)
    order.buying_power_used += order_reservation(order.side, qty, price, position_before)
    order.executions += 1
    filled = order.filled_qty == order.qty
    order.status = OrderStatus.FILLED if filled else OrderStatus.PARTIALLY_FILLED
    order.updated_at = now
    position_qty = _move_venue_position(order, row, qty, price)
    return TradeUpdate(
        event="fill" if filled else "partial_fill",
        order=to_broker_order(order),
        timestamp=now,
        execution_id=f"{order.broker_order_id}-{order.executions}",
        price=price,
        qty=qty,
        position_qty=position_qty,
    )


def _cancel_unaffordable_rest(order: SimulatedOrder, price: Decimal, now: datetime) -> TradeUpdate:
    left = (order.buying_power_hold or ZERO) - order.buying_power_used
    unfilled = order.qty - order.filled_qty
    order.status = OrderStatus.CANCELED
    order.updated_at = now
    reason = (
        f"Canceled with {unfilled.normalize():f} unfilled: at ${price:,} they would cost more "
        f"than the ${left:,} of buying power the order still held."
    )
    return TradeUpdate("canceled", to_broker_order(order), now, reason=reason)


def _execute(
    order: SimulatedOrder, price: Decimal, max_fill_qty: Decimal, now: datetime
) -> list[TradeUpdate]:
    """Fill as much of the order as the displayed liquidity allows, at `price`.

    Like a broker holding buying power, never beyond the order's hold: the part the hold
    cannot pay for at this price is canceled, and the trader told why. Moves the venue
    position; the order is left for the caller to write, once, as its updates left it.
    """
    qty = min(order.qty - order.filled_qty, max_fill_qty)
    capped = False
    row = _venue_position(order)
    if order.buying_power_hold is not None:
        within = fill_qty_within_hold(
            order.side,
            qty,
            price,
            row.qty if row else ZERO,
            order.buying_power_hold - order.buying_power_used,
            whole_shares=order.qty == order.qty.to_integral_value(),
        )
        capped, qty = within < qty, within
    updates = [_fill(order, row, qty, price, now)] if qty > 0 else []
    if capped:
        updates.append(_cancel_unaffordable_rest(order, price, now))
    return updates


def match_orders(
    orders: Iterable[SimulatedOrder],
    price: Decimal,
    sink: TradeUpdateSink,
    max_fill_qty: Decimal,
) -> int:
    """Fill every marketable order at `price`; the caller holds the transaction."""
    executions = 0
    for order in orders:
        if order.status in TERMINAL_ORDER_STATUSES or not _is_marketable(order, price):
            continue
        updates = _execute(order, price, max_fill_qty, timezone.now())
        if updates:
            order.save()
        for update in updates:
            sink(order.account_id, update)
        executions += sum(update.execution_id is not None for update in updates)
    return executions


def _no_accounts_lock(account_ids: list[int]) -> None:
    """For a sink that locks nothing of its own."""


def match_symbol(
    symbol: str,
    price: Decimal,
    sink: TradeUpdateSink,
    max_fill_qty: Decimal,
    *,
    accounts_lock: Callable[[list[int]], object] = _no_accounts_lock,
) -> int:
    """A new price reached the venue: work the open orders in that symbol, oldest first.

    `accounts_lock` takes the sink's locks on the given accounts, in id order. Where the
    orders to fill belong to several accounts, their venue positions and then their accounts
    are locked in account id order before the first booking: booked oldest order first,
    two symbols matched at once (the market's tick and an operator's nudge, or two market
    processes) would lock the same two accounts in opposite orders and deadlock.
    """
    with transaction.atomic():
        open_orders = list(
            SimulatedOrder.objects.select_for_update()
            .filter(symbol=symbol)
            .exclude(status__in=TERMINAL_ORDER_STATUSES)
            .order_by("submitted_at")
        )
        holders = sorted({o.account_id for o in open_orders if _is_marketable(o, price)})
        if len(holders) > 1:  # one account's bookings take the usual order on their own
            list(
                SimulatedPosition.objects.select_for_update()
                .filter(symbol=symbol, account_id__in=holders)
                .order_by("account_id")
                .values_list("pk", flat=True)
            )
            accounts_lock(holders)
        return match_orders(open_orders, price, sink, max_fill_qty)


class _DuplicateOrderError(Exception):
    """The account already has an order under the request's client_order_id."""


class SimulatedGateway:
    """BrokerGateway for one account at the simulated venue."""

    def __init__(
        self,
        account_id: int,
        sink: TradeUpdateSink,
        *,
        max_fill_qty: Decimal,
        latency_seconds: float = 0.0,
        answer_timeout_seconds: float | None = None,
    ) -> None:
        self._account_id = account_id
        self._sink = sink
        self._max_fill_qty = max_fill_qty
        self._latency_seconds = latency_seconds
        # The client's patience: an answer slower than this is a timeout for the caller,
        # though the order stands at the venue (what a lost HTTP response looks like).
        self._answer_timeout_seconds = answer_timeout_seconds

    def submit_order(self, request: OrderRequest) -> BrokerOrder:
        instrument = row_read(Instrument, symbol=request.symbol, tradable=True)
        if instrument is None or instrument.price is None:
            raise BrokerRejected(f"asset {request.symbol} is not tradable")
        try:
            accepted = self._accept(request, instrument.price)
        except _DuplicateOrderError:
            # The venue refuses a second order under one client_order_id; like Alpaca's
            # gateway, the answer is the order it holds (an earlier attempt's).
            known = self.get_order_by_client_id(request.client_order_id)
            if known is None:
                raise BrokerRejected("client_order_id must be unique") from None
            return known
        # The broker has the order; its answer is still on the wire.
        timeout = self._answer_timeout_seconds
        if timeout is not None and self._latency_seconds > timeout:
            time.sleep(timeout)
            raise BrokerUnavailable("the simulated broker did not answer in time")
        if self._latency_seconds > 0:
            # Not sleep(0): that hands the GIL to the server's other threads, and the
            # worker can then wait a whole switch interval (5 ms) to get it back.
            time.sleep(self._latency_seconds)
        return accepted

    def _accept(self, request: OrderRequest, price: Decimal) -> BrokerOrder:
        """Book the order, its `new` and what it fills at once, in one transaction."""
        now = timezone.now()
        order = SimulatedOrder(
            account_id=self._account_id,
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force,
            qty=request.qty,
            limit_price=request.limit_price,
            buying_power_hold=request.buying_power_hold,
            status=OrderStatus.NEW,
            submitted_at=now,
            updated_at=now,
        )
        accepted = to_broker_order(order)
        with transaction.atomic():
            # A marketable order meets the displayed liquidity at once. Worked out before
            # the order is written, so it is written once, as its fills leave it.
            updates: list[TradeUpdate] = []
            if _is_marketable(order, price):
                updates = _execute(order, price, self._max_fill_qty, timezone.now())
            try:
                # No savepoint: its conflict (a duplicate order) rolls back the whole
                # transaction, which so far holds only the venue position's move.
                row_insert(order)
            except IntegrityError:
                raise _DuplicateOrderError from None
            booked = [TradeUpdate("new", accepted, now), *updates]
            booking = VenueBooking(len(booked))
            token = venue_booking.set(booking)
            try:
                for update in booked:
                    booking.following -= 1
                    self._sink(self._account_id, update)
            finally:
                venue_booking.reset(token)
        return accepted

    def cancel_order(self, broker_order_id: str) -> None:
        with transaction.atomic():
            order = (
                SimulatedOrder.objects.select_for_update()
                .filter(account_id=self._account_id, broker_order_id=broker_order_id)
                .first()
            )
            if order is None:
                raise BrokerRejected("order not found")
            if order.status in TERMINAL_ORDER_STATUSES:
                raise BrokerNotCancelable(f"order is not cancelable (status {order.status})")
            now = timezone.now()
            order.status = OrderStatus.CANCELED
            order.updated_at = now
            order.save(update_fields=["status", "updated_at"])
            self._sink(self._account_id, TradeUpdate("canceled", to_broker_order(order), now))

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        order = SimulatedOrder.objects.filter(
            account_id=self._account_id, client_order_id=client_order_id
        ).first()
        return to_broker_order(order) if order else None

    def list_positions(self) -> list[BrokerPosition]:
        rows = SimulatedPosition.objects.filter(account_id=self._account_id).order_by("symbol")
        return [BrokerPosition(r.symbol, r.qty, r.avg_entry_price) for r in rows]
