"""ASGI entry point: Django for HTTP, /ws/portfolio behind origin and session checks.

Under daphne (`manage.py serve`, the `daphne` command) realtime.daphne_shim is installed
first: close codes 1008/1012/1013, the transport backlog for slow clients, and closing the
sockets with 1012 on shutdown.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio_stream.settings")

# Django must be set up before anything imports models (as get_asgi_application does).
django.setup(set_prefix=False)

import asyncio  # noqa: E402
from typing import Any  # noqa: E402

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from operations.reporter import reporter_start  # noqa: E402
from portfolio_stream.heap_freeze import heap_freeze  # noqa: E402
from portfolio_stream.http_threads import PooledThreadsASGIHandler  # noqa: E402
from realtime import daphne_shim  # noqa: E402
from realtime.origin import SameOriginValidator  # noqa: E402
from realtime.publisher import publisher  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

daphne_shim.install()


class PublishOnServerLoop:
    """Binds the publisher to the server's event loop on the first connection it serves."""

    # A plain __call__ returning the application's awaitable: no coroutine frame of its own
    # for as long as a socket lives. The marker tells asgiref it is an ASGI 3 application.
    _asgi_single_callable = True

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bound = False

    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if not self.bound:
            # The server calls its application on its event loop.
            publisher.bind_loop(asyncio.get_running_loop())
            self.bound = True
        return self.app(scope, receive, send)


# Every server process reports its socket statistics (the first caller names the role).
reporter_start("web")

# Django's HTTP on HTTP_THREADS long-lived threads, not a new thread per request.
django_asgi_app = PooledThreadsASGIHandler(threads=settings.HTTP_THREADS)
http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

application = PublishOnServerLoop(
    ProtocolTypeRouter(
        {
            "http": http_app,
            # The session is read per route (realtime.routing), after the origin check.
            "websocket": SameOriginValidator(URLRouter(websocket_urlpatterns)),
        }
    )
)

# What the server imported to serve lives as long as it does: out of the collector's walks.
heap_freeze()
