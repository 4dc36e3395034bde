"""Snapshot frames for a subscribe: one per channel, read consistently with their seqs."""

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from realtime.events import (
    create_account_snapshot,
    create_orders_snapshot,
    create_positions_snapshot,
)
from trading.models import BrokerAccount
from trading.selectors import portfolio_snapshot_get
from trading.services.row_reads import row_read


def account_id_for_user(user_id: int) -> int | None:
    account = row_read(BrokerAccount, user=user_id)
    return account.pk if account is not None else None


def snapshot_frames(account_id: int, channels: Iterable[str]) -> list[dict[str, Any]]:
    """Blocking: one read of the portfolio, cut into the requested channels' snapshots."""
    snapshot = portfolio_snapshot_get(account_id=account_id)
    now = timezone.now()
    frames = []
    for channel in channels:
        seq = snapshot.seq[channel]
        if channel == "positions":
            frame = create_positions_snapshot(snapshot.positions, seq=seq, ts=now)
        elif channel == "orders":
            frame = create_orders_snapshot(
                snapshot.open_orders, snapshot.recent_fills, seq=seq, ts=now
            )
        else:
            frame = create_account_snapshot(snapshot.account, seq=seq, ts=now)
        frames.append(frame.model_dump(mode="json"))
    return frames
