"""WebSocket routes: /ws/portfolio behind the session; any other path gets HTTP 403."""

from django.urls import path, re_path

from realtime.consumers import PortfolioConsumer
from realtime.origin import deny_handshake
from realtime.session_scope import SessionCookieMiddleware

websocket_urlpatterns = [
    path("ws/portfolio", SessionCookieMiddleware(PortfolioConsumer.as_asgi())),
    # channels' URLRouter raises on an unknown path: daphne logged a traceback and answered
    # 500. Refused here before any session lookup. (daphne cannot answer a handshake with
    # 404: a close before accept is always 403.)
    re_path(r"", deny_handshake),  # type: ignore[arg-type]  # an ASGI app, as URLRouter takes
]
