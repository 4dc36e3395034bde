"""Receivers: trading's domain signals become events for the publisher; the end of a session
becomes a control message that closes its sockets. No database access."""

from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils import timezone

from realtime.events import (
    create_account_update_event,
    create_order_update_event,
    create_position_update_event,
    create_trade_executed_event,
)
from realtime.events.encoded import EncodedEvent, encode_account_update, encode_position_update
from realtime.publisher import publisher
from realtime.session_auth import credentials_message, session_ended_message
from trading import signals
from trading.models import BrokerAccount, Fill, Order, Position
from trading.services.common import CAUSE_PRICE

if TYPE_CHECKING:
    from trading.services.price_marks import AccountMarked

REVOKE_REASON_LOGOUT = "logout"
REVOKE_REASON_SESSION_ENDED = "session_ended"
# User fields a session depends on: the password (its auth hash) and is_active.
_CREDENTIAL_FIELDS = frozenset({"password", "is_active"})


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


def on_prices_marked(*, marked: "list[AccountMarked]", at: datetime, **_: Any) -> None:
    """A committed batch of a price tick: every event encoded straight to JSON (no
    validation: the values are the rows just written), one hand-off to the publisher."""
    events: list[tuple[int, EncodedEvent]] = []
    for item in marked:
        user_id = item.account.user_id
        for seq, position in item.positions:
            events.append((user_id, encode_position_update(position, seq=seq, ts=at)))
        if item.account_seq is not None:
            events.append(
                (user_id, encode_account_update(item.account, seq=item.account_seq, ts=at))
            )
    publisher.publish_many(events, coalesce=True)


def on_user_logged_out(*, request: HttpRequest, user: Any, **_: Any) -> None:
    """Close the sockets of the session that logged out, in every server process."""
    if user is None:
        return
    session_key = getattr(request, "session", None) and request.session.session_key
    publisher.publish_control(user.pk, session_ended_message(session_key, REVOKE_REASON_LOGOUT))


def on_user_saved(*, instance: Any, created: bool, update_fields: Any = None, **_: Any) -> None:
    """A new password or a deactivation: sockets whose session no longer holds close.

    Sent on every save that may have changed them (a save does not say what changed); each
    socket compares its session's auth hash (session_auth.ends_session). A login's
    last_login update (update_fields) sends nothing.
    """
    if created or (update_fields is not None and not _CREDENTIAL_FIELDS & set(update_fields)):
        return
    _publish_control_on_commit(instance.pk, credentials_message(instance))


def on_session_deleted(*, instance: Any, **_: Any) -> None:
    """A session row deleted (flush, logout, a login cycling the key, an admin, the shell)."""
    if instance.expire_date <= timezone.now():
        return  # clearsessions: expired sessions, no decoding of thousands of rows
    user_id = instance.get_decoded().get(SESSION_KEY)
    if user_id is None:
        return  # an anonymous session
    pk = get_user_model()._meta.pk.to_python(user_id)
    message = session_ended_message(instance.session_key, REVOKE_REASON_SESSION_ENDED)
    _publish_control_on_commit(pk, message)


def _publish_control_on_commit(user_id: Any, message: dict[str, Any]) -> None:
    """After the commit (at once outside a transaction): a rollback closes no socket."""
    transaction.on_commit(lambda: publisher.publish_control(user_id, message), robust=True)


def session_model() -> Any | None:
    """The model of a database-backed session engine (db, cached_db); None for the others."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    get_model_class = getattr(store, "get_model_class", None)
    return get_model_class() if get_model_class is not None else None


def connect() -> None:
    signals.order_updated.connect(on_order_updated, dispatch_uid="realtime.order_updated")
    signals.trade_executed.connect(on_trade_executed, dispatch_uid="realtime.trade_executed")
    signals.position_changed.connect(on_position_changed, dispatch_uid="realtime.position")
    signals.account_changed.connect(on_account_changed, dispatch_uid="realtime.account")
    signals.prices_marked.connect(on_prices_marked, dispatch_uid="realtime.prices_marked")
    user_logged_out.connect(on_user_logged_out, dispatch_uid="realtime.logout")
    post_save.connect(on_user_saved, sender=get_user_model(), dispatch_uid="realtime.user_saved")
    model = session_model()
    if model is not None:
        # Cache and cookie sessions have no row to watch; logout still closes their sockets.
        post_delete.connect(on_session_deleted, sender=model, dispatch_uid="realtime.session")
