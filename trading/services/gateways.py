"""Picks the broker gateway of an account."""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings

from trading.broker.gateway import BrokerGateway
from trading.broker.simulated.venue import SimulatedGateway
from trading.broker.types import BrokerAuthError
from trading.enums import BrokerProvider
from trading.models import BrokerAccount
from trading.services.credentials import alpaca_credentials_get
from trading.services.fills import trade_update_apply

if TYPE_CHECKING:
    from trading.broker.alpaca.gateway import AlpacaGateway


def simulated_max_fill_qty() -> Decimal:
    return Decimal(settings.SIMULATED_MAX_FILL_QTY)


def alpaca_gateway_for_account(account: BrokerAccount) -> "AlpacaGateway":
    """The account's Alpaca gateway; BrokerAuthError when it has no usable keys."""
    # alpaca-py loads pandas and numpy (about 55 MB): only a process that trades through
    # Alpaca pays for them (tests/test_lazy_imports.py).
    from trading.broker.alpaca.gateway import alpaca_gateway

    return alpaca_gateway(
        alpaca_credentials_get(account=account), url_override=settings.ALPACA_TRADING_URL or None
    )


def gateway_for_account(account: BrokerAccount) -> BrokerGateway:
    """The gateway that talks to this account's broker."""
    if account.provider == BrokerProvider.SIMULATED:
        return SimulatedGateway(
            account.pk,
            trade_update_apply,
            max_fill_qty=simulated_max_fill_qty(),
            latency_seconds=settings.SIMULATED_BROKER_LATENCY_SECONDS,
        )
    if account.provider == BrokerProvider.ALPACA:
        return alpaca_gateway_for_account(account)
    raise BrokerAuthError(f"the {account.provider} gateway is not available in this version")
