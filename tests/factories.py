"""Test data builders that go through the real services, so fixtures obey the domain rules."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from trading.models import BrokerAccount, Instrument
from trading.services.accounts import account_open_simulated


def make_user(username: str = "trader", password: str = "pw-for-tests-1") -> User:
    user: User = get_user_model().objects.create_user(username=username, password=password)
    return user


def make_account(username: str = "trader", cash: Decimal | str = "100000.00") -> BrokerAccount:
    account = account_open_simulated(user=make_user(username), cash=Decimal(cash))
    # With its user loaded, so async tests can read account.user without a query.
    return BrokerAccount.objects.select_related("user").get(pk=account.pk)


def set_price(symbol: str, price: str, prev_close: str | None = None) -> Instrument:
    """Put an instrument at a known price (and close) without marking positions."""
    instrument = Instrument.objects.get(symbol=symbol)
    instrument.price = Decimal(price)
    instrument.prev_close = Decimal(prev_close or price)
    instrument.save()
    return instrument
