"""Helpers every service shares: locking the account and emitting domain signals."""

import copy
import logging
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from trading.enums import StreamChannel
from trading.models import BrokerAccount
from trading.services.row_reads import row_get
from trading.services.row_writes import row_update

logger = logging.getLogger(__name__)

# Why a change happened. Price moves are high-frequency "latest value" changes that a
# listener may coalesce; every other cause is order-dependent and must not be.
CAUSE_TRADE = "trade"
CAUSE_PRICE = "price"
CAUSE_SYNC = "sync"
CAUSE_DAY_ROLL = "day_roll"

_SEQ_FIELD = {
    StreamChannel.POSITIONS: "positions_seq",
    StreamChannel.ORDERS: "orders_seq",
    StreamChannel.ACCOUNT: "account_seq",
}


class DomainError(Exception):
    """A business rule refused the request; `field` names the input at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


def account_lock(account_id: int) -> BrokerAccount:
    """Lock the account row: every change to an account's books is serialized through it."""
    return row_get(BrokerAccount, for_update=True, pk=account_id)


def accounts_lock(account_ids: list[int]) -> None:
    """Lock several accounts' rows, in id order: the order every path locking more than one
    takes, so two of them never wait on each other in a cycle."""
    list(
        BrokerAccount.objects.select_for_update()
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def account_lock_for_user(user_id: int) -> BrokerAccount:
    """account_lock, the account found by its user (one per user): BrokerAccount.DoesNotExist
    if the user has none."""
    return row_get(BrokerAccount, for_update=True, user_id=user_id)


def emit(account: BrokerAccount, channel: StreamChannel, signal: Signal, /, **payload: Any) -> int:
    """Assign the channel's next seq in this transaction and send `signal` after commit."""
    seq = seq_next(account, channel)
    row_update(account, [_SEQ_FIELD[channel]])
    return emit_assigned(account, channel, signal, seq, **payload)


def seq_next(account: BrokerAccount, channel: StreamChannel) -> int:
    """Bump the channel's seq on the (locked) account object; the caller writes it."""
    field = _SEQ_FIELD[channel]
    seq = int(getattr(account, field)) + 1
    setattr(account, field, seq)
    return seq


def seq_fields(*channels: StreamChannel) -> list[str]:
    return [_SEQ_FIELD[channel] for channel in channels]


def emit_assigned(
    account: BrokerAccount, channel: StreamChannel, signal: Signal, seq: int, /, **payload: Any
) -> int:
    """Send `signal` after commit for a seq already assigned (and written) in this transaction."""
    # Copies, so later changes in the same transaction don't leak into this event.
    frozen = {key: copy.copy(value) for key, value in payload.items()}
    frozen.setdefault("cause", CAUSE_TRADE)
    changed_at = timezone.now()
    user_id = account.user_id

    def send() -> None:
        for receiver, result in signal.send_robust(
            sender=BrokerAccount,
            account_id=account.pk,
            user_id=user_id,
            seq=seq,
            at=changed_at,
            **frozen,
        ):
            if isinstance(result, Exception):
                logger.error(
                    "receiver %r failed for %s seq %d",
                    receiver,
                    channel,
                    seq,
                    exc_info=result,
                )

    transaction.on_commit(send, robust=True)
    return seq


def connections_recycle() -> None:
    """Drop broken or expired DB connections between iterations of a long-running loop.

    Skipped inside a transaction (a test's, say): Django would close it mid-flight.
    """
    if not connection.in_atomic_block:
        close_old_connections()
