"""Trade updates from any broker: fills into positions and cash, statuses into orders."""

import copy
import logging
import threading
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading import signals
from trading.broker.simulated.venue import VenueBooking, venue_booking
from trading.broker.types import TradeUpdate
from trading.domain import (
    Holding,
    cash_after_fill,
    hold_price,
    holding_after_fill,
    order_hold,
    order_reservation,
    realized_pl_of_fill,
)
from trading.enums import (
    OPEN_ORDER_STATUSES,
    TERMINAL_ORDER_STATUSES,
    BrokerProvider,
    OrderStatus,
    StreamChannel,
)
from trading.metrics import SUBMIT_TO_FILL
from trading.models import BrokerAccount, Fill, Instrument, Order, Position
from trading.money import ZERO, to_avg_price
from trading.services.accounts import BALANCE_FIELDS, account_books_read, balances_apply
from trading.services.common import account_lock, emit, emit_assigned, seq_fields, seq_next
from trading.services.orders import order_status_advance, status_rank
from trading.services.positions import position_store
from trading.services.row_reads import row_read
from trading.services.row_writes import row_insert, row_update

logger = logging.getLogger(__name__)

# The order columns a fill writes (row_update): what it moves, and the status and broker
# id, which a `new` deferred to it within a venue booking left unsaved.
ORDER_FILL_FIELDS = (
    "filled_qty",
    "filled_avg_price",
    "buying_power_used",
    "broker_order_id",
    "status",
    "filled_at",
    "updated_at",
)

FILL_EVENTS = frozenset({"fill", "partial_fill"})
# Alpaca's trade_updates events that name an order status of the same spelling.
STATUS_EVENTS = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "canceled",
        "expired",
        "rejected",
        "done_for_day",
        "replaced",
        "pending_cancel",
        "pending_replace",
        "stopped",
        "suspended",
        "calculated",
    }
)


def _order_for_update(account: BrokerAccount, update: TradeUpdate) -> Order:
    """Our order for the event, created when the order was placed outside this app."""
    broker = update.order
    order = row_read(
        Order, for_update=True, account_id=account.pk, client_order_id=broker.client_order_id
    )
    if order is not None:
        return order
    # Placed elsewhere, it still holds buying power, valued as our own orders are.
    market = Instrument.objects.filter(symbol=broker.symbol).values_list("price", flat=True)
    market_price = next(iter(market), None) or broker.limit_price or ZERO
    position = Position.objects.filter(account=account, symbol=broker.symbol)
    hold = order_hold(
        broker.side,
        broker.qty,
        hold_price(broker.side, broker.type, broker.limit_price, market_price),
        next(iter(position.values_list("qty", flat=True)), ZERO),
    )
    order = Order.objects.create(
        account=account,
        client_order_id=broker.client_order_id,
        broker_order_id=broker.broker_order_id,
        symbol=broker.symbol,
        side=broker.side,
        type=broker.type,
        time_in_force=broker.time_in_force,
        qty=broker.qty,
        limit_price=broker.limit_price,
        buying_power_hold=hold,
        status=OrderStatus.NEW,
        submitted_at=broker.submitted_at,
    )
    # Placed at the broker directly: the trader's screens learn of it now.
    emit(account, StreamChannel.ORDERS, signals.order_updated, order=order)
    return order


def _mark_prices(
    account: BrokerAccount, symbol: str, fill_price: Decimal
) -> tuple[Decimal, Decimal | None]:
    """The price to mark the position at after a fill, and the symbol's previous close.

    The simulated market's last trade for simulated accounts (an opening balance booked at
    an old entry price must still show today's value); for a real broker the fill itself
    is the latest trade we know of, and the simulated prices mean nothing there.
    """
    row = row_read(Instrument, symbol=symbol)
    market, prev_close = (row.price, row.prev_close) if row is not None else (None, None)
    if account.provider == BrokerProvider.SIMULATED and market is not None:
        return market, prev_close
    return fill_price, prev_close


def _apply_fill(
    account: BrokerAccount,
    order: Order,
    update: TradeUpdate,
    execution_id: str,
    qty: Decimal,
    price: Decimal,
) -> None:
    fill = Fill(
        account=account,
        order=order,
        execution_id=execution_id,
        symbol=order.symbol,
        side=order.side,
        qty=qty,
        price=price,
        executed_at=update.timestamp,
    )
    row_insert(fill)
    submitted_at = order.submitted_at
    transaction.on_commit(
        lambda: SUBMIT_TO_FILL.observe(max((timezone.now() - submitted_at).total_seconds(), 0.0))
    )
    if order.status in TERMINAL_ORDER_STATUSES:
        # The broker executed an order we had ended: its fill moved real money and stands.
        # A local cancel of an order the broker had would lead here; it must not happen.
        logger.error(
            "execution %s of order %s, which we had as %s, booked",
            execution_id,
            order.pk,
            order.status,
        )
    # The books once: the symbol's position comes from them, and the balances below use
    # them with that position replaced by its state after the fill.
    positions, open_orders = account_books_read(account)
    position = next((p for p in positions if p.symbol == order.symbol), None)
    holding = (
        Holding(position.qty, position.avg_entry_price, position.lastday_price)
        if position
        else None
    )
    previous_notional = order.filled_qty * (order.filled_avg_price or 0)
    order.filled_qty += qty
    order.filled_avg_price = to_avg_price((previous_notional + qty * price) / order.filled_qty)
    # What opens a position spends the order's hold, as the broker counts it.
    order.buying_power_used += order_reservation(
        order.side, qty, price, holding.qty if holding else ZERO
    )
    order.broker_order_id = order.broker_order_id or update.order.broker_order_id
    if order.filled_qty >= order.qty:
        order.status = OrderStatus.FILLED
        order.filled_at = update.timestamp
    elif status_rank(order.status) < status_rank(OrderStatus.PARTIALLY_FILLED):
        # A late execution still moves money, but never reopens a pending-cancel or ended order.
        order.status = OrderStatus.PARTIALLY_FILLED
    # Every column a fill moves, and the status and broker id a deferred `new` left unsaved.
    row_update(order, ORDER_FILL_FIELDS)

    after = holding_after_fill(holding, order.side, qty, price)
    current, prev_close = _mark_prices(account, order.symbol, price)
    position = position_store(account, order.symbol, position, after, current, prev_close)
    account.cash = cash_after_fill(account.cash, order.side, qty, price)
    realized = realized_pl_of_fill(holding, order.side, qty, price)
    account.realized_pl += realized
    account.realized_pl_today += realized
    positions = [p for p in positions if p.symbol != order.symbol]
    positions += [position] if position.qty else []
    open_orders = [order if o.pk == order.pk else o for o in open_orders]
    if order.status not in OPEN_ORDER_STATUSES:
        open_orders = [o for o in open_orders if o.pk != order.pk]
    moved = balances_apply(account, positions, open_orders) or bool(realized)

    # One write of the account row for the cash, the balances and every seq this fill
    # takes (it was six UPDATEs); the signals follow in the same order as before.
    channels = [StreamChannel.ORDERS, StreamChannel.ORDERS, StreamChannel.POSITIONS]
    channels += [StreamChannel.ACCOUNT] if moved else []
    seqs = [seq_next(account, channel) for channel in channels]
    # orders_seq is always among them: a deferred `new`'s seq is written here too.
    row_update(
        account,
        [
            "cash",
            "realized_pl",
            "realized_pl_today",
            *(BALANCE_FIELDS if moved else ()),
            *seq_fields(*sorted(set(channels))),
            "updated_at",
        ],
    )
    _HELD.deferred = False
    orders = StreamChannel.ORDERS
    emit_assigned(account, orders, signals.trade_executed, seqs[0], fill=fill, order=order)
    emit_assigned(account, orders, signals.order_updated, seqs[1], order=order)
    emit_assigned(
        account, StreamChannel.POSITIONS, signals.position_changed, seqs[2], position=position
    )
    if moved:
        emit_assigned(
            account, StreamChannel.ACCOUNT, signals.account_changed, seqs[3], account=account
        )


class _Held(threading.local):
    """The account and order this thread's last trade update locked, and the venue
    booking it was part of."""

    def __init__(self) -> None:
        self.booking: object | None = None
        self.account: BrokerAccount | None = None
        self.order: Order | None = None
        # A status update applied in memory whose writes (the order's status and broker
        # id, the account's orders_seq) a later update of the same booking makes.
        self.deferred = False


_HELD = _Held()


def _held(account_id: int, client_order_id: str) -> tuple[BrokerAccount, Order] | None:
    """The account and order as the previous update of this order left them, when both
    belong to the venue booking still under way (its `new` and its fills, one transaction):
    locked and read by that update and changed only by it since, so not read again."""
    booking = venue_booking.get()
    held = _HELD
    if booking is None or held.booking is not booking:
        return None
    account, order = held.account, held.order
    if account is None or order is None:
        return None
    if account.pk != account_id or order.client_order_id != client_order_id:
        return None
    return account, order


def _hold(account: BrokerAccount, order: Order) -> None:
    _HELD.booking, _HELD.account, _HELD.order = venue_booking.get(), account, order


class _Booked(threading.local):
    """The order as the last venue booking this thread committed left it."""

    order: Order | None = None


_BOOKED = _Booked()


def booked_order_pop(order_id: object) -> Order | None:
    """The order as this thread's last committed venue booking left it, if it was this one.

    The worker's submit then knows what the venue's answer would write without reading the
    order again: the booking applied that answer's `new` (trading.worker).
    """
    order, _BOOKED.order = _BOOKED.order, None
    return order if order is not None and order.pk == order_id else None


def _booked_when_committed(order: Order) -> None:
    """Remember the order as the booking leaves it, once (and only if) the booking commits."""
    snapshot = copy.copy(order)
    transaction.on_commit(lambda: setattr(_BOOKED, "order", snapshot))


def _deferred_write(account: BrokerAccount, order: Order) -> None:
    """Write what a deferred status update left unsaved, before anything else touches it."""
    if not _HELD.deferred:
        return
    _HELD.deferred = False
    row_update(order, ["status", "broker_order_id", "updated_at"])
    row_update(account, seq_fields(StreamChannel.ORDERS))


def _defers(update: TradeUpdate) -> bool:
    """Whether a status update may leave its writes to the booking's next update.

    Only inside a venue booking with updates still to follow (a marketable order's `new`,
    then its fills): the next one writes the whole of what this one changed, the order's
    status and broker id and the account's orders_seq, in the same transaction, so the
    rows end as if both had written. Terminal statuses release holds and write at once.
    """
    booking = venue_booking.get()
    return (
        isinstance(booking, VenueBooking)
        and booking.following > 0
        and update.event not in TERMINAL_ORDER_STATUSES
    )


def trade_update_apply(account_id: int, update: TradeUpdate) -> bool:
    """Apply one broker event exactly once; returns False for duplicates and stale events."""
    # No savepoint when nested (the venue calls this inside its own transaction, twice
    # per order): an error here fails the caller's whole transaction, which no caller
    # survives anyway, and a savepoint is two more statements per event.
    with transaction.atomic(savepoint=False):
        held = _held(account_id, update.order.client_order_id)
        if held is not None:
            account, order = held
        else:
            if _HELD.deferred and _HELD.booking is venue_booking.get():
                # Another order in the same booking (the venue books one): write its rest.
                if _HELD.account is not None and _HELD.order is not None:
                    _deferred_write(_HELD.account, _HELD.order)
            _HELD.deferred = False  # what an earlier booking left was rolled back with it
            account = account_lock(account_id)
            order = _order_for_update(account, update)
        applied = _apply(account, order, update)
        booking = venue_booking.get()
        if booking is not None:
            _hold(account, order)
            if isinstance(booking, VenueBooking) and not booking.following:
                _booked_when_committed(order)
    return applied


def _apply(account: BrokerAccount, order: Order, update: TradeUpdate) -> bool:
    """trade_update_apply under the account lock, with the event's order locked."""
    if update.event in FILL_EVENTS:
        execution_id, qty, price = update.execution_id, update.qty, update.price
        if not execution_id or qty is None or qty <= 0 or price is None or price <= 0:
            logger.error("malformed %s event for order %s ignored", update.event, order.pk)
            _deferred_write(account, order)
            return False
        # A replay is ignored; the venue's booking of an order it just accepted has none
        # (and the unique execution_id would still refuse one, rolling the booking back).
        replayable = venue_booking.get() is None
        if replayable and Fill.objects.filter(execution_id=execution_id).exists():
            logger.info("duplicate execution %s ignored", execution_id)
            return False
        if order.filled_qty + qty > order.qty:
            logger.error("execution %s overfills order %s; ignored", execution_id, order.pk)
            _deferred_write(account, order)
            return False
        _apply_fill(account, order, update, execution_id, qty, price)
        return True
    _deferred_write(account, order)
    if update.event not in STATUS_EVENTS:
        logger.warning("unknown trade update event %r ignored", update.event)
        return False
    learned_id = order.broker_order_id is None
    if learned_id:
        order.broker_order_id = update.order.broker_order_id
    reason = update.reason or ("rejected by the broker" if update.event == "rejected" else "")
    defer = _defers(update)
    # An advance saves the whole order, the broker's id with it (unless deferred).
    advanced = order_status_advance(account, order, update.event, reason=reason, write=not defer)
    if advanced and defer:
        _HELD.deferred = True
    elif learned_id and not advanced:
        order.save(update_fields=["broker_order_id", "updated_at"])
    return advanced
