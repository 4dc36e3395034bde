"""Sockets close with 4401 when their session ends: deleted, a new password, deactivation."""

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from realtime.conf import CloseCode
from realtime.publisher import publisher
from realtime.session_auth import (
    SocketSession,
    credentials_message,
    digest,
    ends_session,
    session_ended_message,
)
from tests.factories import make_account
from tests.realtime.conftest import receive_until, session_cookie
from trading.models import BrokerAccount

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
async def trader() -> BrokerAccount:
    return await sync_to_async(make_account)("dora")


async def open_socket(ws_connect: Any, user: Any, cookie: bytes | None = None) -> Any:
    communicator = await ws_connect(user, cookie=cookie)
    assert (await communicator.connect())[0]
    return communicator


async def assert_open(communicator: Any) -> None:
    await communicator.send_json_to({"type": "ping"})
    assert (await receive_until(communicator, "pong"))["type"] == "pong"


async def assert_logged_out(communicator: Any) -> None:
    assert (await receive_until(communicator, "error"))["code"] == "logged_out"
    assert await communicator.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": CloseCode.LOGGED_OUT,
    }


async def test_a_new_password_closes_every_socket_of_the_user(
    ws_connect: Any, trader: BrokerAccount
) -> None:
    first = await open_socket(ws_connect, trader.user)
    second = await open_socket(ws_connect, trader.user)
    await assert_open(first)

    def change_password() -> None:
        trader.user.set_password("another-pw-for-tests-3")
        trader.user.save()

    await sync_to_async(change_password)()
    await assert_logged_out(first)
    await assert_logged_out(second)


async def test_a_login_timestamp_or_a_profile_change_keeps_the_sockets(
    ws_connect: Any, trader: BrokerAccount
) -> None:
    communicator = await open_socket(ws_connect, trader.user)

    def touch() -> None:
        trader.user.last_login = timezone.now()
        trader.user.save(update_fields=["last_login"])
        trader.user.first_name = "Dora"
        trader.user.save()  # a full save: the password (its hash) is unchanged

    await sync_to_async(touch)()
    assert await communicator.receive_nothing(timeout=0.5)
    await assert_open(communicator)


async def test_a_deleted_session_closes_its_sockets_only(
    ws_connect: Any, trader: BrokerAccount
) -> None:
    cookie = await session_cookie(trader.user)
    doomed = await open_socket(ws_connect, trader.user, cookie=cookie)
    other = await open_socket(ws_connect, trader.user)
    session_key = cookie.decode().split("=", 1)[1]
    await sync_to_async(Session.objects.filter(session_key=session_key).delete)()
    await assert_logged_out(doomed)
    await assert_open(other)


async def test_expired_sessions_are_cleared_without_messages(
    trader: BrokerAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(publisher, "publish_control", lambda *a: sent.append(a))
    cookie = await session_cookie(trader.user)
    key = cookie.decode().split("=", 1)[1]

    def expire_and_clear() -> None:
        Session.objects.filter(session_key=key).update(
            expire_date=timezone.now() - timedelta(days=1)
        )
        Session.objects.filter(expire_date__lt=timezone.now()).delete()  # clearsessions

    await sync_to_async(expire_and_clear)()
    assert sent == []


def test_which_control_messages_end_a_session() -> None:
    session = SocketSession(user_id=1, session_key="k1", auth_hash=digest("h1"))
    assert ends_session(session_ended_message("k1", "logout"), session)
    assert not ends_session(session_ended_message("k2", "logout"), session)
    assert ends_session(session_ended_message(None, "deactivated"), session)
    valid = {"action": "credentials", "auth_hashes": [digest("h1")], "is_active": True}
    assert not ends_session(valid, session)
    assert ends_session({**valid, "auth_hashes": [digest("h2")]}, session)
    assert ends_session({**valid, "is_active": False}, session)
    assert ends_session(valid, SocketSession(1, "k1", None))
    assert not ends_session({"action": "something else"}, session)


def test_credentials_message_carries_digests_not_hashes() -> None:
    user = make_account("eve").user
    message = credentials_message(user)
    assert message["is_active"] is True
    assert digest(user.get_session_auth_hash()) in message["auth_hashes"]
    assert user.get_session_auth_hash() not in message["auth_hashes"]


def test_a_session_that_ended_before_the_socket_listened_is_caught() -> None:
    """What connect() asks once it has joined the control group (no message can be missed)."""
    from django.contrib.sessions.backends.db import SessionStore

    from realtime.session_auth import read_socket_session, session_still_valid

    user = make_account("hank").user
    client = Client()
    client.force_login(user)
    key = client.cookies["sessionid"].value

    def socket_session() -> SocketSession:
        return read_socket_session(user, SessionStore(session_key=key))

    assert session_still_valid(socket_session())
    user.is_active = False
    user.save()
    assert not session_still_valid(socket_session())
    user.is_active = True
    user.save()
    stale = socket_session()
    user.set_password("another-pw-for-tests-4")
    user.save()
    assert not session_still_valid(stale)
    Session.objects.filter(session_key=key).delete()
    assert not session_still_valid(
        SocketSession(user.pk, key, digest(user.get_session_auth_hash()))
    )
