"""Position sync: make our positions match the broker's, signalling only what changed."""

import logging
from decimal import Decimal

from django.db import transaction

from trading.broker.gateway import BrokerGateway
from trading.domain import Holding
from trading.models import BrokerAccount, Instrument, Position
from trading.services.accounts import account_refresh
from trading.services.common import CAUSE_SYNC, account_lock
from trading.services.positions import position_write

logger = logging.getLogger(__name__)


def positions_sync(*, account: BrokerAccount, gateway: BrokerGateway) -> list[str]:
    """Compare the broker's positions with ours and fix ours; returns the symbols changed."""
    broker_positions = {p.symbol: p for p in gateway.list_positions()}  # outside the lock
    changed: list[str] = []
    with transaction.atomic():
        account = account_lock(account.pk)
        ours = {p.symbol: p for p in Position.objects.filter(account=account)}
        prices = dict(
            Instrument.objects.filter(symbol__in=set(ours) | set(broker_positions)).values_list(
                "symbol", "price"
            )
        )
        for symbol in sorted(set(ours) | set(broker_positions)):
            theirs, mine = broker_positions.get(symbol), ours.get(symbol)
            if theirs is None or theirs.qty == 0:
                if mine is not None:
                    position_write(account, symbol, None, mine.current_price, cause=CAUSE_SYNC)
                    changed.append(symbol)
                continue
            if mine is not None and (mine.qty, mine.avg_entry_price) == (
                theirs.qty,
                theirs.avg_entry_price,
            ):
                continue
            price: Decimal = (
                prices.get(symbol)
                or (mine.current_price if mine else None)
                or theirs.avg_entry_price
            )
            lastday = mine.lastday_price if mine else theirs.avg_entry_price
            position_write(
                account,
                symbol,
                Holding(theirs.qty, theirs.avg_entry_price, lastday),
                price,
                cause=CAUSE_SYNC,
            )
            changed.append(symbol)
        if changed:
            logger.warning("position sync corrected %s for account %s", changed, account.pk)
            account_refresh(account, cause=CAUSE_SYNC)
    return changed
