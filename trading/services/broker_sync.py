"""Runs position sync for every account, once or periodically."""

import logging
import threading
from collections.abc import Collection

from django.conf import settings

from trading.broker.types import BrokerError
from trading.enums import BrokerProvider
from trading.models import BrokerAccount
from trading.services.common import connections_recycle
from trading.services.gateways import gateway_for_account
from trading.services.position_sync import positions_sync

logger = logging.getLogger(__name__)


def positions_sync_all(
    *, username: str | None = None, providers: Collection[str] | None = None
) -> dict[int, list[str]]:
    """Sync each account (one broker failing does not stop the others); returns changes."""
    accounts = BrokerAccount.objects.select_related("user").order_by("pk")
    if providers is not None:
        accounts = accounts.filter(provider__in=providers)
    if username:
        accounts = accounts.filter(user__username=username)
    changes: dict[int, list[str]] = {}
    for account in accounts:
        try:
            changes[account.pk] = positions_sync(
                account=account, gateway=gateway_for_account(account)
            )
        except BrokerError as error:
            logger.warning("position sync skipped account %s: %s", account.pk, error)
    return changes


def run_position_sync(*, stop: threading.Event, interval_seconds: float | None = None) -> None:
    """Sync every `interval_seconds` until `stop` is set; errors are logged, never fatal."""
    interval = interval_seconds or settings.POSITION_SYNC_INTERVAL_SECONDS
    while not stop.wait(interval):
        try:
            connections_recycle()
            # Alpaca accounts are resynced by their stream host after every (re)connect, in
            # order with their trade updates; a pass from here could race a fill.
            positions_sync_all(providers=[BrokerProvider.SIMULATED])
        except Exception:
            logger.exception("position sync pass failed; continuing")
