"""PooledThreadsASGIHandler: requests on a few long-lived threads, connections kept or dropped."""

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import path

from portfolio_stream.http_threads import PooledThreadsASGIHandler

_busy = {"now": 0, "most": 0}
_busy_lock = threading.Lock()
# Every connection a request saw, held so that no id is reused by a later one.
_connections_seen: list[Any] = []


def _where(request: HttpRequest) -> JsonResponse:
    connection.ensure_connection()
    _connections_seen.append(connection.connection)
    return JsonResponse(
        {
            "thread": threading.current_thread().name,
            "connection": id(connection.connection),
            "autocommit": connection.get_autocommit(),
        }
    )


def _slow(request: HttpRequest) -> JsonResponse:
    with _busy_lock:
        _busy["now"] += 1
        _busy["most"] = max(_busy["most"], _busy["now"])
    time.sleep(0.1)
    with _busy_lock:
        _busy["now"] -= 1
    return JsonResponse({"thread": threading.current_thread().name})


def _leave_transaction_open(request: HttpRequest) -> JsonResponse:
    # A view that forgets to restore autocommit: Django must not hand this connection on.
    transaction.set_autocommit(False)
    return _where(request)


urlpatterns = [
    path("where", _where),
    path("slow", _slow),
    path("leaky", _leave_transaction_open),
]


async def _get(handler: PooledThreadsASGIHandler, url: str) -> dict[str, Any]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 80),
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the handler cancels this
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await handler(scope, receive, send)
    assert sent[0]["status"] == 200, sent
    body = b"".join(message.get("body", b"") for message in sent[1:])
    result: dict[str, Any] = json.loads(body)
    return result


pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.urls("tests.portfolio_stream.test_http_threads"),
]


@override_settings(ALLOWED_HOSTS=["localhost"])
async def test_requests_reuse_a_thread_and_its_connection() -> None:
    handler = PooledThreadsASGIHandler(threads=2)
    first = await _get(handler, "/where")
    second = await _get(handler, "/where")
    assert first["thread"].startswith("http-")
    # One request at a time: the same lane, and SQLite's connection kept (CONN_MAX_AGE).
    assert second["thread"] == first["thread"]
    if connection.vendor == "sqlite":
        assert second["connection"] == first["connection"]


@override_settings(ALLOWED_HOSTS=["localhost"])
async def test_requests_in_progress_are_bounded_by_the_threads() -> None:
    handler = PooledThreadsASGIHandler(threads=2)
    _busy.update(now=0, most=0)
    results = await asyncio.gather(*(_get(handler, "/slow") for _ in range(6)))
    assert _busy["most"] == 2
    assert {result["thread"] for result in results} == {"http-0_0", "http-1_0"}
    assert len(handler.idle) == 2 and not handler.waiters


@override_settings(ALLOWED_HOSTS=["localhost"])
async def test_a_connection_left_in_a_transaction_is_closed_not_reused() -> None:
    handler = PooledThreadsASGIHandler(threads=1)
    leaky = await _get(handler, "/leaky")
    after = await _get(handler, "/where")
    assert after["thread"] == leaky["thread"]
    assert leaky["autocommit"] is False
    # close_old_connections at the request's end dropped it: the next request starts clean.
    assert after["autocommit"] is True
    if connection.vendor == "sqlite":
        # Closed and opened again. PostgreSQL's pool rolls the connection back and may lend
        # the same one out again.
        assert after["connection"] != leaky["connection"]


@override_settings(ALLOWED_HOSTS=["localhost"])
async def test_a_request_cancelled_while_waiting_gives_no_lane_away() -> None:
    handler = PooledThreadsASGIHandler(threads=1)
    busy = asyncio.ensure_future(_get(handler, "/slow"))
    await asyncio.sleep(0.02)
    waiting = asyncio.ensure_future(_get(handler, "/where"))
    await asyncio.sleep(0.02)
    waiting.cancel()
    await busy
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (await _get(handler, "/where"))["thread"] == "http-0_0"
    assert len(handler.idle) == 1
