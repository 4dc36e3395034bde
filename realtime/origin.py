"""The WebSocket handshake's Origin check: Django's CSRF origin rule, scheme, host and port.

channels' AllowedHostsOriginValidator compares only the origin's host with ALLOWED_HOSTS,
so a page on any port of an allowed host (another app on the same machine) could open an
authenticated socket. Here an origin is allowed, as CsrfViewMiddleware allows an unsafe
request, if it is exactly the request's own `scheme://host[:port]` (the Host header,
checked against ALLOWED_HOSTS; HTTPS per SECURE_PROXY_SSL_HEADER behind the proxy), or is
listed in CSRF_TRUSTED_ORIGINS (`https://*.example.com` for subdomains). A handshake
without an Origin header is refused: browsers always send one.
"""

import logging
from collections.abc import Awaitable, Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.utils.http import is_same_domain

logger = logging.getLogger(__name__)


class UpgradeRequest(HttpRequest):
    """The handshake as a Django request, for its get_host() and scheme (nothing else)."""

    def __init__(self, scope: dict[str, Any]) -> None:
        super().__init__()
        self._secure_transport = scope.get("scheme") in ("wss", "https")
        for raw_name, raw_value in scope.get("headers", ()):
            name = "HTTP_" + raw_name.decode("latin1").upper().replace("-", "_")
            value = raw_value.decode("latin1")
            self.META[name] = f"{self.META[name]},{value}" if name in self.META else value
        host, port = (scope.get("server") or (None, None))[:2]
        self.META["SERVER_NAME"] = host or "unknown"
        self.META["SERVER_PORT"] = str(port or "")

    def _get_scheme(self) -> str:
        return "https" if self._secure_transport else "http"


def origin_allowed(scope: dict[str, Any], trusted: Iterable[str] | None = None) -> bool:
    request = UpgradeRequest(scope)
    origin = request.META.get("HTTP_ORIGIN")
    if not origin:
        return False
    try:
        own = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        own = None
    if origin == own:
        return True
    trusted = list(settings.CSRF_TRUSTED_ORIGINS if trusted is None else trusted)
    if origin in (pattern for pattern in trusted if "*" not in pattern):
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        pattern.scheme == parsed.scheme
        and is_same_domain(parsed.netloc, pattern.netloc.lstrip("*"))
        for pattern in (urlsplit(p) for p in trusted if "*" in p)
    )


class SameOriginValidator:
    """ASGI middleware: a WebSocket handshake from another origin gets HTTP 403."""

    # A plain __call__ returning the application's awaitable: no coroutine frame of its own
    # for as long as a socket lives. The marker tells asgiref it is an ASGI 3 application.
    _asgi_single_callable = True

    def __init__(self, application: Any) -> None:
        self.application = application

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[Any]:
        if scope["type"] == "websocket":
            try:
                allowed = origin_allowed(scope)
            except Exception:
                # Raised here it would reach the server outside the application's task.
                logger.exception("the origin check failed; refusing the handshake")
                allowed = False
            if not allowed:
                logger.info("refused a WebSocket handshake from origin %s", _origin_of(scope))
                return deny_handshake(scope, receive, send)
        return self.application(scope, receive, send)  # type: ignore[no-any-return]


async def deny_handshake(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Refuse a WebSocket handshake: a close before accept, which daphne answers with 403.

    A plain ASGI app, not a consumer: a refused handshake costs no channel-layer channel.
    """
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


def _origin_of(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            return str(value.decode("latin1"))
    return None
