"""Receivers: trading's domain signals become events for the publisher. No database access."""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.http import HttpRequest

from realtime.events import (
    create_account_update_event,
    create_order_update_event,
    create_position_update_event,
    create_trade_executed_event,
)
from realtime.publisher import publisher
from trading import signals
from trading.models import BrokerAccount, Fill, Order, Position
from trading.services.common import CAUSE_PRICE

REVOKE_REASON_LOGOUT = "logout"
REVOKE_REASON_DEACTIVATED = "deactivated"


def on_order_updated(*, user_id: int, seq: int, at: datetime, order: Order, **_: Any) -> None:
    publisher.publish(user_id, create_order_update_event(order, seq=seq, ts=at))


def on_trade_executed(*, user_id: int, seq: int, at: datetime, fill: Fill, **_: Any) -> None:
    publisher.publish(user_id, create_trade_executed_event(fill, seq=seq, ts=at))


def on_position_changed(
    *, user_id: int, seq: int, at: datetime, position: Position, cause: str, **_: Any
) -> None:
    event = create_position_update_event(position, seq=seq, ts=at)
    publisher.publish(user_id, event, coalesce=cause == CAUSE_PRICE)


def on_account_changed(
    *, user_id: int, seq: int, at: datetime, account: BrokerAccount, cause: str, **_: Any
) -> None:
    event = create_account_update_event(account, seq=seq, ts=at)
    publisher.publish(user_id, event, coalesce=cause == CAUSE_PRICE)


def on_user_logged_out(*, request: HttpRequest, user: Any, **_: Any) -> None:
    """Close the sockets of the session that logged out, in every server process."""
    if user is None:
        return
    session_key = getattr(request, "session", None) and request.session.session_key
    publisher.publish_control(
        user.pk, {"action": "revoke", "reason": REVOKE_REASON_LOGOUT, "session_key": session_key}
    )


def on_user_saved(*, instance: Any, created: bool, **_: Any) -> None:
    """A deactivated user loses every socket at once."""
    if not created and not instance.is_active:
        publisher.publish_control(
            instance.pk,
            {"action": "revoke", "reason": REVOKE_REASON_DEACTIVATED, "session_key": None},
        )


def connect() -> None:
    signals.order_updated.connect(on_order_updated, dispatch_uid="realtime.order_updated")
    signals.trade_executed.connect(on_trade_executed, dispatch_uid="realtime.trade_executed")
    signals.position_changed.connect(on_position_changed, dispatch_uid="realtime.position")
    signals.account_changed.connect(on_account_changed, dispatch_uid="realtime.account")
    user_logged_out.connect(on_user_logged_out, dispatch_uid="realtime.logout")
    post_save.connect(on_user_saved, sender=get_user_model(), dispatch_uid="realtime.user_saved")
