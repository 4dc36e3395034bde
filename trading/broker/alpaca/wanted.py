"""Whether a process has anything to stream from Alpaca, asked without importing alpaca-py."""

from django.conf import settings

from trading.enums import BrokerProvider
from trading.models import BrokerAccount


def broker_streams_wanted() -> bool:
    """Whether this deployment has anything to stream from Alpaca."""
    has_data_keys = bool(settings.ALPACA_DATA_API_KEY and settings.ALPACA_DATA_SECRET_KEY)
    return (
        has_data_keys
        or BrokerAccount.objects.filter(provider=BrokerProvider.ALPACA)
        .exclude(credentials_encrypted="")
        .exists()
    )
