"""The socket asks the same gate as the page and REST: at 50 %, exactly the users REST calls
enabled keep their socket, the others get 4403."""

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from realtime.conf import CloseCode
from rollout.flags import REALTIME_PORTFOLIO
from rollout.models import Flag
from tests.factories import make_account
from tests.realtime.conftest import channel_layer, ws_connect

__all__ = ["channel_layer", "ws_connect"]

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def layer_kind(settings: Any) -> str:
    """The in-memory layer only: the gate's answer does not depend on the layer."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return "memory"


def _setup(count: int) -> list[tuple[Any, bool]]:
    Flag.objects.filter(name=REALTIME_PORTFOLIO).update(everyone=None, percent=Decimal("50"))
    users = []
    for i in range(count):
        user = make_account(f"sock{i}").user
        client = Client()
        client.force_login(user)
        users.append((user, client.get("/api/portfolio/snapshot/").json()["realtime_enabled"]))
    return users


async def test_socket_answers_like_rest(ws_connect: Any) -> None:
    users = await sync_to_async(_setup)(12)
    assert {enabled for _, enabled in users} == {True, False}
    for user, enabled in users:
        communicator = await ws_connect(user)
        connected, _ = await communicator.connect()
        assert connected
        if enabled:
            await communicator.send_json_to({"type": "ping"})
            assert (await communicator.receive_json_from(timeout=2))["type"] == "pong"
        else:
            assert (await communicator.receive_json_from(timeout=2))["code"] == "feature_disabled"
            closed = await communicator.receive_output(timeout=2)
            assert closed == {"type": "websocket.close", "code": CloseCode.FEATURE_DISABLED}
