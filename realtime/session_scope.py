"""The socket's session from its cookie: channels' AuthMiddlewareStack, lighter per socket."""

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.sessions.backends.base import SessionBase
from django.http.cookie import parse_cookie


class SessionCookieMiddleware:
    """Puts `session` (the cookie's session store, not loaded yet) in the scope.

    What channels' CookieMiddleware, SessionMiddleware and AuthMiddleware do for a
    read-only socket, in one scope copy and without a coroutine frame, a session wrapper
    or a lazy user per socket, each of which lived as long as the socket (about 3 KiB;
    tests/load/bench_memory.py). The user is resolved by `user_of_session`, in the
    consumer's own database trip. A socket never saves its session.
    """

    # A plain __call__ returning the application's awaitable; the marker tells asgiref it
    # is an ASGI 3 application.
    _asgi_single_callable = True

    def __init__(self, application: Any) -> None:
        self.application = application
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        cookies: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        session = self.session_store(cookies.get(settings.SESSION_COOKIE_NAME))
        return self.application({**scope, "session": session}, receive, send)


def user_of_session(session: SessionBase | None) -> Any | None:
    """Blocking: the session's active, authenticated user (its auth hash checked, as
    Django's own request.user), or None."""
    if session is None:
        return None
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    return user if user.is_authenticated else None
