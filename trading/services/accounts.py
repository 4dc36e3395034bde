"""Account services: opening an account and keeping its balances consistent with its books."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from trading import signals
from trading.domain import buying_power, signed_qty
from trading.enums import OPEN_ORDER_STATUSES, BrokerProvider, StreamChannel
from trading.models import BrokerAccount, Order, Position
from trading.money import ZERO, to_money
from trading.services.common import CAUSE_TRADE, emit
from trading.services.row_reads import rows_read

MARKET_TIMEZONE = ZoneInfo("America/New_York")

# Derived from cash and the books; cash itself is written only by the fill path.
BALANCE_FIELDS = (
    "equity",
    "buying_power",
    "long_market_value",
    "short_market_value",
)


def trading_day_today() -> date:
    """US equities trade on New York's calendar."""
    return timezone.now().astimezone(MARKET_TIMEZONE).date()


def account_open_simulated(*, user: AbstractBaseUser, cash: Decimal) -> BrokerAccount:
    """Give a user a simulated paper account funded with `cash`."""
    cash = to_money(cash)
    with transaction.atomic():
        # By id: any AUTH_USER_MODEL instance will do, whatever its static type.
        return BrokerAccount.objects.create(
            user_id=user.pk,
            provider=BrokerProvider.SIMULATED,
            cash=cash,
            equity=cash,
            last_equity=cash,
            buying_power=cash,
            trading_day=trading_day_today(),
        )


def open_orders_exposure(
    account: BrokerAccount,
    position_qty: dict[str, Decimal],
    open_orders: Iterable[Order] | None = None,
) -> tuple[Decimal, dict[str, Decimal]]:
    """Buying power open orders still hold, and each symbol's quantity once they all fill.

    The projection takes orders oldest first, so two sells of a 10-share long cannot each
    count as "covered" when a new order's hold is computed against it. `open_orders`, when
    given, are the account's open orders in that order (read in bulk by the caller).
    """
    reserved = ZERO
    projected = dict(position_qty)
    if open_orders is None:
        open_orders = account.orders.filter(status__in=OPEN_ORDER_STATUSES).order_by(
            "submitted_at", "pk"
        )
    for order in open_orders:
        reserved += order.buying_power_left
        held = projected.get(order.symbol, ZERO)
        projected[order.symbol] = held + signed_qty(order.side, order.remaining_qty)
    return reserved, projected


def balances_apply(
    account: BrokerAccount, positions: Iterable[Position], open_orders: Iterable[Order]
) -> bool:
    """Set equity, market values and buying power from the books (no save); True if moved."""
    held = list(positions)
    long_value = sum((p.market_value for p in held if p.qty > 0), ZERO)
    short_value = sum((p.market_value for p in held if p.qty < 0), ZERO)
    position_qty = {p.symbol: p.qty for p in held}
    before = tuple(getattr(account, f) for f in BALANCE_FIELDS)
    account.long_market_value = to_money(long_value)
    account.short_market_value = to_money(short_value)
    account.equity = to_money(account.cash + long_value + short_value)
    reserved = open_orders_exposure(account, position_qty, open_orders)[0]
    account.buying_power = buying_power(account.cash, short_value, reserved)
    return tuple(getattr(account, f) for f in BALANCE_FIELDS) != before


def account_books_read(account: BrokerAccount) -> tuple[list[Position], list[Order]]:
    """The account's positions and its open orders oldest first: what balances derive from."""
    positions = rows_read(Position, where={"account_id": account.pk})
    open_orders = rows_read(
        Order,
        where={"account_id": account.pk, "status__in": OPEN_ORDER_STATUSES},
        order_by=("submitted_at", "pk"),
    )
    # As the account's related managers would: each row knows its (locked) account.
    for position in positions:
        position.account = account
    for order in open_orders:
        order.account = account
    return positions, open_orders


def account_refresh(
    account: BrokerAccount, *, cause: str = CAUSE_TRADE, force: bool = False
) -> bool:
    """Recompute equity and buying power from the books; emit `account_changed` if they moved
    (or, with `force`, because the caller changed other fields, such as realized P&L).

    The caller holds the account lock (see services.common.account_lock).
    """
    if not balances_apply(account, *account_books_read(account)) and not force:
        return False
    account.save(update_fields=[*BALANCE_FIELDS, "updated_at"])
    emit(account, StreamChannel.ACCOUNT, signals.account_changed, account=account, cause=cause)
    return True
