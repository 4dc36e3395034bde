"""Django's ASGI handler on a fixed set of long-lived request threads."""

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase


class PooledThreadsASGIHandler(ASGIHandler):
    """Runs each request's synchronous work on one of `threads` threads that outlive it.

    Django's ASGIHandler enters a fresh ThreadSensitiveContext per request: asgiref makes
    a new single-thread executor for it, so every request starts a thread (and opens a
    database connection in it) and joins the thread afterwards. Here the context is given
    a lane: an executor with one worker thread, lent to one request at a time, so a
    request's thread-sensitive calls (middleware, the view, the signals) still run on one
    thread of their own, and the thread's connection is kept between requests where
    CONN_MAX_AGE allows (see DATABASES in portfolio_stream.settings). A request waits on
    the event loop for a free lane, which bounds the requests in progress to `threads`.

    The middleware and the view run as one synchronous call on the lane, as under WSGI:
    Django's async chain runs each of MiddlewareMixin's hooks through sync_to_async, a hop
    to the thread and back (about 17 a request with our middleware), and each hop waits for
    the GIL.
    """

    def __init__(self, threads: int) -> None:
        # ASGIHandler.__init__ would build the async middleware chain; this one is sync.
        super(ASGIHandler, self).__init__()
        self.load_middleware(is_async=False)
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        # Last in, first out: under light load the same few threads (and connections)
        # stay warm. Plain deques, not an asyncio.Queue: that binds to the first loop
        # that waits on it, and tests drive one application from several loops.
        self.idle: deque[ThreadPoolExecutor] = deque(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{index}")
            for index in range(threads)
        )
        self.waiters: deque[asyncio.Future[ThreadPoolExecutor]] = deque()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # daphne hands over a request once its whole body has arrived, so a slow upload
        # never holds a lane.
        lane = await self._lane_take()
        try:
            # A context given an executor is entered once; asgiref does not shut it down.
            async with ThreadSensitiveContext(executor=lane):
                await self.handle(scope, receive, send)
        finally:
            self._lane_give(lane)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        """The sync chain (middleware and view) in one call on this request's lane."""
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # as ASGIHandler.run_get_response does
        return response

    async def _lane_take(self) -> ThreadPoolExecutor:
        if self.idle:
            return self.idle.pop()
        waiter: asyncio.Future[ThreadPoolExecutor] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Handed a lane just as the request was cancelled: pass it on. A cancelled
            # waiter stays queued; _lane_give skips it.
            if waiter.done() and not waiter.cancelled():
                self._lane_give(waiter.result())
            raise

    def _lane_give(self, lane: ThreadPoolExecutor) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(lane)
                return
        self.idle.append(lane)
