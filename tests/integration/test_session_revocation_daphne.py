"""A password change ends the user's other sessions' sockets, in every server process.

Two real daphnes share Redis and the database. The user changes their password through
Django's own form (the admin's, which calls update_session_auth_hash) on server A. Their
sockets close with `logged_out` and 4401 on both servers: the one of the session that
changed it (Django rotated its key) and the one of another session (its auth hash no
longer matches). Another user's socket stays open, and the rotated session opens a new
socket at once.
"""

import asyncio
import json
import re

import pytest

from tests.factories import make_account
from tests.integration.instrumented_server import start_instrumented
from tests.integration.live_server import Session, login, unique_prefix
from tests.integration.socket_clients import (
    make_stream_users,
    next_frame,
    open_socket,
    processes,
    read_until_closed,
    redis_url,
    session_cookie,
)
from tests.processes import Processes

__all__ = ["processes", "redis_url"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-1"
NEW_PASSWORD = "a-new-pw-for-tests-2"
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


async def _change_password(session: Session, base_url: str) -> None:
    form = await session.client.get(f"{base_url}/admin/password_change/")
    assert form.status_code == 200, form.text
    token = _CSRF_INPUT.search(form.text)
    assert token
    response = await session.client.post(
        f"{base_url}/admin/password_change/",
        data={
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "csrfmiddlewaretoken": token[1],
        },
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"].endswith("/password_change/done/")


def test_password_change_closes_the_users_sockets_everywhere_with_4401(
    processes: Processes, redis_url: str
) -> None:
    trader = make_account("changer").user
    trader.is_staff = True  # the admin's password change form needs staff
    trader.save()
    other_session = session_cookie(trader)
    bystander = session_cookie(make_stream_users(1, "bystander")[0])
    prefix = unique_prefix()
    server_a = start_instrumented(processes, "serve-a", redis_url=redis_url, prefix=prefix)
    server_b = start_instrumented(processes, "serve-b", redis_url=redis_url, prefix=prefix)

    async def scenario() -> None:
        browser = await login(server_a.base_url, trader.username, PASSWORD)
        try:
            async with (
                open_socket(server_b, browser.cookie_header) as own,
                open_socket(server_a, other_session) as other,
                open_socket(server_b, bystander) as unrelated,
            ):
                for ws in (own, other, unrelated):
                    await ws.send(json.dumps({"type": "ping"}))
                    await next_frame(ws, "pong")
                await _change_password(browser, server_a.base_url)
                for ws in (own, other):
                    frames, code, _ = await read_until_closed(ws, timeout=5)
                    assert [f["code"] for f in frames if f["type"] == "error"] == ["logged_out"]
                    assert code == 4401
                await unrelated.send(json.dumps({"type": "ping"}))
                await next_frame(unrelated, "pong")
                # The session that changed the password lives on under a new key.
                async with open_socket(server_b, browser.cookie_header) as again:
                    await again.send(json.dumps({"type": "ping"}))
                    await next_frame(again, "pong")
        finally:
            await browser.client.aclose()

    asyncio.run(scenario())
    for server in (server_a, server_b):
        assert "Traceback" not in server.child.output()
