"""/api/admin/websocket-stats/: staff only, the documented shape, and a socket shows up in it."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from operations.serializers import WebsocketStatsSerializer
from realtime.conf import CloseCode
from tests.factories import make_user
from tests.realtime.conftest import subscribe
from trading.models import BrokerAccount

URL = "/api/admin/websocket-stats/"


@pytest.fixture
def staff_client(db: None) -> APIClient:
    user = make_user("operator")
    user.is_staff = True
    user.save()
    client = APIClient()
    client.force_login(user)
    return client


def _fields(serializer: Any) -> set[str]:
    return set(serializer.fields)


@pytest.mark.django_db
def test_anonymous_and_non_staff_are_refused(api_client: APIClient) -> None:
    assert Client().get(URL).status_code in (401, 403)
    assert api_client.get(URL).status_code == 403
    assert Client().get("/admin/websocket-stats/").status_code == 302  # to the admin login


def test_staff_get_the_documented_shape(staff_client: APIClient) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == _fields(WebsocketStatsSerializer())
    for key in ("activeConnections", "totalMessages", "disconnectRate", "errorRate", "avgLatency"):
        assert isinstance(body[key], int | float), key
    assert body["mode"] == "embedded"
    assert body["rollout"]["mode"] == "on"
    assert body["orderQueue"] == {
        "queued": 0,
        "running": 0,
        "failed": 0,
        "oldestQueuedAgeSeconds": None,
    }
    assert [p["role"] for p in body["processes"]] != []


# serialized_rollback restores the migrations' rows (the rollout flag) for the next test.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_an_open_socket_is_counted_and_its_close_recorded(
    ws_connect: Any, account: BrokerAccount
) -> None:
    from asgiref.sync import sync_to_async

    def stats() -> dict[str, Any]:
        user = make_user("operator2")
        user.is_staff = True
        user.save()
        client = APIClient()
        client.force_login(user)
        body: dict[str, Any] = client.get(URL).json()
        user.delete()
        return body

    before = await sync_to_async(stats)()
    communicator = await ws_connect(account.user)
    connected, _ = await communicator.connect()
    assert connected
    await subscribe(communicator, ["orders"])
    during = await sync_to_async(stats)()
    assert during["activeConnections"] == before["activeConnections"] + 1
    assert during["channels"]["orders"] == before["channels"].get("orders", 0) + 1
    assert during["totalMessages"] >= before["totalMessages"] + 2  # subscribed + snapshot
    await communicator.send_to(bytes_data=b"binary")  # an error frame: unsupported_frame
    await communicator.receive_json_from(timeout=2)
    await communicator.disconnect(code=CloseCode.POLICY_VIOLATION)
    after = await sync_to_async(stats)()
    assert after["activeConnections"] == before["activeConnections"]
    assert after["errorsByCode"].get("unsupported_frame", 0) >= 1
    assert after["closes"]["window"].get("1008", 0) >= 1
