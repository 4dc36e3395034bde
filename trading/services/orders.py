"""Order services: submit, request a cancel, and apply the broker's view of an order."""

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading import signals
from trading.broker.types import BrokerOrder
from trading.enums import (
    TERMINAL_ORDER_STATUSES,
    JobKind,
    JobStatus,
    OrderStatus,
    StreamChannel,
    TimeInForce,
)
from trading.models import BrokerAccount, Order, OrderJob
from trading.services.accounts import (
    BALANCE_FIELDS,
    account_books_read,
    account_refresh,
    balances_apply,
)
from trading.services.common import (
    DomainError,
    account_lock,
    account_lock_for_user,
    emit,
    emit_assigned,
    seq_fields,
    seq_next,
)
from trading.services.order_checks import buying_power_hold, order_request_validate
from trading.services.row_writes import row_insert, row_update
from trading.work_queue import job_lease_renew, jobs_queued_notify

# How far along an order's life a status is; an update never moves an order back.
# Alpaca's order goes accepted -> pending_new -> new; here `pending_new` also means "not yet
# sent to the broker", which comes before everything the broker says.
_STATUS_RANK: dict[str, int] = {
    OrderStatus.PENDING_NEW: 0,
    OrderStatus.ACCEPTED: 1,
    OrderStatus.ACCEPTED_FOR_BIDDING: 1,
    OrderStatus.NEW: 2,
    OrderStatus.PENDING_REPLACE: 3,
    OrderStatus.PARTIALLY_FILLED: 3,
    OrderStatus.PENDING_CANCEL: 3,
    OrderStatus.STOPPED: 3,
    OrderStatus.SUSPENDED: 3,
    OrderStatus.CALCULATED: 3,
}
_TERMINAL_RANK = 4


def status_rank(status: str) -> int:
    return _TERMINAL_RANK if status in TERMINAL_ORDER_STATUSES else _STATUS_RANK.get(status, 2)


def order_submit(
    *,
    account: BrokerAccount | None = None,
    user_id: int | None = None,
    symbol: str,
    side: str,
    qty: Decimal,
    type: str,  # shadows the builtin: it is the public API's field name
    limit_price: Decimal | None = None,
    time_in_force: str = TimeInForce.DAY,
    client_order_id: str | None = None,
) -> Order:
    """Create the order and its submit job in one transaction; the worker carries it out.

    The order is for `account`, or for the account of `user_id`, found by the lock itself
    (BrokerAccount.DoesNotExist if the user has none): the REST POST reads no account
    before, so the account is read once per order, locked.

    `client_order_id` is the account's idempotency key: sent again with the same fields it
    returns the order it made; with other fields it is refused (`idempotency_key_reused`).
    """
    symbol = symbol.strip().upper()
    if time_in_force not in TimeInForce.values:
        raise DomainError("Time in force must be day, gtc or ioc.", field="time_in_force")
    with transaction.atomic():
        if account is not None:
            account = account_lock(account.pk)
        elif user_id is not None:
            account = account_lock_for_user(user_id)
        else:
            raise TypeError("order_submit needs an account or a user_id")
        # Under the account lock, so two retries of one request cannot both create.
        if client_order_id:
            existing = Order.objects.filter(account=account, client_order_id=client_order_id)
            if (order := existing.first()) is not None:
                requested = {
                    "symbol": symbol,
                    "side": side,
                    "qty": qty,
                    "type": type,
                    "limit_price": limit_price,
                    "time_in_force": time_in_force,
                }
                _check_same_request(order, requested)
                return order  # a retried request: the same order, not a second one
        return _order_create(
            account,
            symbol,
            side,
            qty,
            type,
            limit_price,
            time_in_force,
            client_order_id or uuid.uuid4().hex,
        )


def _check_same_request(order: Order, requested: dict[str, object]) -> None:
    """Refuse a client_order_id reused for a different order (decimals compare by value)."""
    differing = [name for name, value in requested.items() if getattr(order, name) != value]
    if differing:
        raise DomainError(
            f"client_order_id {order.client_order_id!r} was already used for another order "
            f"({', '.join(differing)} differ). Repeat a retry exactly; use a new "
            "client_order_id for a new order.",
            field="client_order_id",
            code="idempotency_key_reused",
        )


def _order_create(
    account: BrokerAccount,
    symbol: str,
    side: str,
    qty: Decimal,
    order_type: str,
    limit_price: Decimal | None,
    time_in_force: str,
    client_order_id: str,
) -> Order:
    instrument = order_request_validate(account, symbol, side, qty, order_type, limit_price)
    if instrument.price is None:  # _validate already refuses instruments without a price
        raise DomainError(f"{symbol} is not tradable right now.", field="symbol")
    # Read once, under the account lock, for the hold and for the balances after it.
    positions, open_orders = account_books_read(account)
    hold = buying_power_hold(
        account,
        (positions, open_orders),
        symbol,
        side,
        qty,
        order_type,
        limit_price,
        instrument.price,
    )
    order = Order(
        account=account,
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        type=order_type,
        time_in_force=time_in_force,
        qty=qty,
        limit_price=limit_price,
        buying_power_hold=hold,
        status=OrderStatus.PENDING_NEW,
        submitted_at=timezone.now(),
    )
    row_insert(order)
    row_insert(OrderJob(order=order, kind=JobKind.SUBMIT))
    # The new order holds buying power; one write of the account for its balances and
    # seqs (account_refresh would read the books again and write the row three times).
    moved = balances_apply(account, positions, [*open_orders, order])
    order_seq = seq_next(account, StreamChannel.ORDERS)
    account_seq = seq_next(account, StreamChannel.ACCOUNT) if moved else None
    if account_seq is None:
        row_update(account, seq_fields(StreamChannel.ORDERS))
    else:
        row_update(
            account,
            [
                *BALANCE_FIELDS,
                *seq_fields(StreamChannel.ORDERS, StreamChannel.ACCOUNT),
                "updated_at",
            ],
        )
    emit_assigned(account, StreamChannel.ORDERS, signals.order_updated, order_seq, order=order)
    if account_seq is not None:
        emit_assigned(
            account, StreamChannel.ACCOUNT, signals.account_changed, account_seq, account=account
        )
    jobs_queued_notify()
    transaction.on_commit(lambda: signals.order_job_queued.send(sender=Order))
    return order


def order_cancel_request(*, account: BrokerAccount, order_id: uuid.UUID | str) -> Order:
    """Ask for a cancel: at once if the broker provably never saw the order, else through
    the queue, where the worker asks the broker by client_order_id before deciding."""
    with transaction.atomic():
        account = account_lock(account.pk)
        order = Order.objects.select_for_update().get(pk=order_id, account=account)
        if order.status in TERMINAL_ORDER_STATUSES:
            raise DomainError(
                f"This order is already {order.get_status_display().lower()} "
                "and can no longer be canceled.",
                code="not_cancelable",
            )
        if order.status == OrderStatus.PENDING_CANCEL:
            return order
        queued_submits = OrderJob.objects.filter(
            order=order, kind=JobKind.SUBMIT, status=JobStatus.QUEUED
        )
        # Only a submit never attempted cannot have reached the broker. One that timed out
        # waits here for its retry, yet the broker may have taken it (only the answer was
        # lost): guarded by attempts=0, as a claim is guarded by attempts, so exactly one
        # of a claim and this cancel wins the job.
        never_sent = queued_submits.filter(attempts=0).update(
            status=JobStatus.DONE,
            finished_at=timezone.now(),
            last_error="canceled before submission",
        )
        if never_sent and order.broker_order_id is None:
            _set_status(account, order, OrderStatus.CANCELED)
        else:
            # The retry would place an order the trader no longer wants; the cancel job
            # reconciles instead: cancel at the broker, or here if it never arrived.
            queued_submits.update(
                status=JobStatus.DONE,
                finished_at=timezone.now(),
                last_error="superseded by a cancel, which reconciles with the broker",
            )
            # The order keeps holding its buying power until the broker confirms.
            _set_status(account, order, OrderStatus.PENDING_CANCEL)
            OrderJob.objects.create(order=order, kind=JobKind.CANCEL)
            jobs_queued_notify()
            transaction.on_commit(lambda: signals.order_job_queued.send(sender=Order))
        account_refresh(account)
    return order


def _set_status(
    account: BrokerAccount, order: Order, status: str, reason: str = "", *, write: bool = True
) -> None:
    now = timezone.now()
    order.status = status
    if status == OrderStatus.CANCELED:
        order.canceled_at = order.canceled_at or now
        order.reject_reason = reason or order.reject_reason  # a cancel by the broker says why
    elif status == OrderStatus.EXPIRED:
        order.expired_at = order.expired_at or now
    elif status == OrderStatus.REJECTED:
        order.failed_at = order.failed_at or now
        order.reject_reason = reason or order.reject_reason
    if write:
        order.save()
        emit(account, StreamChannel.ORDERS, signals.order_updated, order=order)
        return
    # The caller writes the order and the account's orders_seq later in this transaction
    # (a venue booking's `new`, written by its fill): the event is assigned its seq now.
    order.updated_at = now
    seq = seq_next(account, StreamChannel.ORDERS)
    emit_assigned(account, StreamChannel.ORDERS, signals.order_updated, seq, order=order)


def order_status_advance(
    account: BrokerAccount, order: Order, status: str, *, reason: str = "", write: bool = True
) -> bool:
    """Move the order forward to `status`; stale or backward updates are ignored.

    With `write` False (a status that is not terminal) the order and the account's
    orders_seq change in memory only, the event assigned its seq: the caller writes both.
    """
    if status == order.status or status_rank(status) < status_rank(order.status):
        return False
    if order.status in TERMINAL_ORDER_STATUSES:
        return False
    if not write and status in TERMINAL_ORDER_STATUSES:
        raise ValueError("a terminal status releases holds: it is written at once")
    _set_status(account, order, status, reason, write=write)
    if status in TERMINAL_ORDER_STATUSES:
        account_refresh(account)  # releases the buying power the order held
    return True


def order_cancel_locally(*, order_id: uuid.UUID, lease: OrderJob | None = None) -> Order:
    """End the order as canceled here: the broker provably never had it."""
    with transaction.atomic():
        account, order = order_lock(order_id)
        if lease is not None:
            job_lease_renew(lease)
        order_status_advance(account, order, OrderStatus.CANCELED)
    return order


def order_lock(order_id: uuid.UUID) -> tuple[BrokerAccount, Order]:
    """Lock the order's account, then the order: the one lock order every service follows."""
    account_id = Order.objects.values_list("account_id", flat=True).get(pk=order_id)
    account = account_lock(account_id)
    return account, Order.objects.select_for_update().get(pk=order_id)


def order_apply_broker_state(
    *, order_id: uuid.UUID, broker_order: BrokerOrder, lease: OrderJob | None = None
) -> Order:
    """Record what the broker says about our order (its id and status) after a call.

    With `lease`, only while that job's claim still holds its lease (else LeaseLost).
    """
    order = Order.objects.get(pk=order_id)
    if order_knows_broker_state(order, broker_order):
        # Nothing to write, and a locked read could not find otherwise: the broker's id
        # never changes once set and statuses only move forward. Saves a write
        # transaction per job when the broker's trade updates got here first (the
        # simulated venue books the fill before its answer returns).
        return order
    with transaction.atomic():
        account, order = order_lock(order_id)
        if lease is not None:
            job_lease_renew(lease)  # the fence: holds the job row until this commits
        if order.broker_order_id != broker_order.broker_order_id:
            order.broker_order_id = broker_order.broker_order_id
            order.save(update_fields=["broker_order_id", "updated_at"])
        if broker_order.status != OrderStatus.PARTIALLY_FILLED:
            # Fill statuses arrive with their fills (trade updates), never bare.
            if broker_order.status != OrderStatus.FILLED:
                order_status_advance(account, order, broker_order.status)
    return order


def order_knows_broker_state(order: Order, broker_order: BrokerOrder) -> bool:
    """True when applying `broker_order` to `order` would change nothing."""
    if order.broker_order_id != broker_order.broker_order_id:
        return False
    if broker_order.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
        return True
    status = broker_order.status
    return (
        order.status in TERMINAL_ORDER_STATUSES
        or status == order.status
        or status_rank(status) < status_rank(order.status)
    )


def order_reject(*, order_id: uuid.UUID, reason: str, lease: OrderJob | None = None) -> Order:
    """The broker refused the order: end it as rejected with the broker's reason."""
    with transaction.atomic():
        account, order = order_lock(order_id)
        if lease is not None:
            job_lease_renew(lease)
        order_status_advance(account, order, OrderStatus.REJECTED, reason=reason)
    return order
