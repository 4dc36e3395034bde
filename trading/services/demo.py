"""Demo data for the embedded mode: a trader with a funded simulated account and a few holdings."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from trading.broker.simulated.seeding import venue_book_filled_order
from trading.enums import OrderSide
from trading.models import BrokerAccount, Instrument, Position
from trading.services.accounts import account_open_simulated, account_refresh
from trading.services.common import account_lock
from trading.services.fills import trade_update_apply
from trading.services.orders import order_submit
from trading.services.positions import position_mark

# (symbol, signed quantity, entry price): a few longs and one short, bought below or
# above today's prices so the page opens with gains and losses to look at.
DEMO_HOLDINGS: tuple[tuple[str, str, str], ...] = (
    ("AAPL", "50", "212.40"),
    ("MSFT", "20", "405.10"),
    ("NVDA", "120", "121.75"),
    ("JPM", "35", "244.80"),
    ("TSLA", "-15", "268.00"),
)
DEMO_LIMIT_ORDER = ("GOOGL", "10", "160.00")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    created: bool


def _user(username: str, *, staff: bool) -> tuple[AbstractBaseUser, bool]:
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user, False
    if staff:
        return user_model.objects.create_superuser(
            username, f"{username}@example.com", username
        ), True
    return user_model.objects.create_user(username, f"{username}@example.com", username), True


def _held_since_yesterday(account: BrokerAccount) -> None:
    """Opening holdings were bought on earlier days: today's P&L counts from the last close."""
    account = account_lock(account.pk)
    closes = dict(Instrument.objects.values_list("symbol", "prev_close"))
    for position in Position.objects.filter(account=account):
        position.lastday_price = closes.get(position.symbol) or position.current_price
        position_mark(position, position.current_price, position.lastday_price)
        position.save()
    account_refresh(account)


def demo_data_ensure() -> list[DemoLogin]:
    """Create the demo trader and the admin once; later calls change nothing."""
    if not settings.DEBUG:
        raise RuntimeError("demo users (demo/demo, admin/admin) exist only in DEBUG mode")
    _, admin_created = _user("admin", staff=True)
    trader, trader_created = _user("demo", staff=False)
    if not BrokerAccount.objects.filter(user_id=trader.pk).exists():
        with transaction.atomic():
            account = account_open_simulated(
                user=trader,
                cash=Decimal(settings.DEMO_STARTING_CASH),
            )
            for symbol, qty, price in DEMO_HOLDINGS:
                signed = Decimal(qty)
                venue_book_filled_order(
                    account_id=account.pk,
                    symbol=symbol,
                    side=OrderSide.BUY if signed > 0 else OrderSide.SELL,
                    qty=abs(signed),
                    price=Decimal(price),
                    sink=trade_update_apply,
                )
            _held_since_yesterday(account)
            account.refresh_from_db()
            account.last_equity = account.equity
            account.save(update_fields=["last_equity"])
        symbol, qty, limit = DEMO_LIMIT_ORDER
        order_submit(
            account=account,
            symbol=symbol,
            side=OrderSide.BUY,
            qty=Decimal(qty),
            type="limit",
            limit_price=Decimal(limit),
        )
    return [
        DemoLogin("demo", "demo", "trader with a simulated account", trader_created),
        DemoLogin("admin", "admin", "staff, superuser", admin_created),
    ]
