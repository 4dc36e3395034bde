"""Who a socket belongs to, and which control messages end its session.

A socket is authenticated once, at the handshake (realtime.session_scope reads the
session cookie). The session can end later, in any request or process: a logout, the
session deleted or flushed (a login in the same browser cycles its key), the password
changed (Django keeps only the session that changed it, under a new key and auth hash; no
other session's hash matches any more), the user deactivated. realtime.receivers sends
each to the user's control group, heard by every process; `ends_session` decides for one
socket, which then closes with 4401.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, get_user_model

from trading.services.row_reads import row_read

REVOKE_ACTION = "revoke"
CREDENTIALS_ACTION = "credentials"


@dataclass(frozen=True)
class SocketSession:
    user_id: int
    session_key: str | None
    # A digest of the session's auth hash (HASH_SESSION_KEY), None if it has none.
    auth_hash: str | None


def read_socket_session(user: Any, session: Any) -> SocketSession:
    """Blocking: the session may still have to be loaded from its store."""
    if session is None:
        return SocketSession(user.pk, None, None)
    auth_hash = session.get(HASH_SESSION_KEY)
    return SocketSession(user.pk, session.session_key, digest(auth_hash) if auth_hash else None)


def session_still_valid(socket_session: SocketSession) -> bool:
    """Blocking: the session still exists and the user's credentials still match it.

    Asked once the socket has joined its control group: a session that ended before is
    caught here, one that ends later arrives as a control message. Nothing falls between.
    """
    user = row_read(get_user_model(), pk=socket_session.user_id)
    if user is None or not getattr(user, "is_active", True):
        return False
    if ends_session(credentials_message(user), socket_session):
        return False
    return socket_session.session_key is None or _session_exists(socket_session.session_key)


def _session_exists(session_key: str) -> bool:
    if settings.SESSION_ENGINE.endswith("signed_cookies"):
        return True  # the cookie is the session: nothing stored to delete
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    return bool(store.exists(session_key))


def digest(auth_hash: str) -> str:
    """What travels through Redis instead of the hash a session is checked against."""
    return hashlib.sha256(auth_hash.encode()).hexdigest()


def credentials_message(user: Any) -> dict[str, Any]:
    """The user's valid auth hashes (current secret key and fallbacks) and active flag."""
    hashes = [user.get_session_auth_hash()]
    fallbacks = getattr(user, "get_session_auth_fallback_hash", None)
    if fallbacks is not None:
        hashes.extend(fallbacks())
    return {
        "action": CREDENTIALS_ACTION,
        "auth_hashes": [digest(h) for h in hashes],
        "is_active": bool(user.is_active),
    }


def session_ended_message(session_key: str | None, reason: str) -> dict[str, Any]:
    """One session ended (None: every session of the user)."""
    return {"action": REVOKE_ACTION, "reason": reason, "session_key": session_key}


def ends_session(message: Mapping[str, Any], session: SocketSession) -> bool:
    action = message.get("action")
    if action == REVOKE_ACTION:
        key = message.get("session_key")
        return key is None or key == session.session_key
    if action == CREDENTIALS_ACTION:
        if not message.get("is_active", True):
            return True
        valid = message.get("auth_hashes")
        if valid is None:
            return False
        # Django refuses a session without a hash, so such a socket is not kept either.
        return session.auth_hash is None or session.auth_hash not in valid
    return False
