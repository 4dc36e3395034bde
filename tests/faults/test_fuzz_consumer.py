"""Hypothesis against the real consumer: random frames and request sequences never crash it.

Frames of every shape (tests/faults/fuzz_frames.py: random JSON and text, broken and
foreign encodings, binary, deep nesting, sizes around the 4 KiB limit) mixed with random
sequences of subscribe, unsubscribe and ping:

- in process (WebsocketCommunicator, the in-memory layer, the inbound rate limit lifted so
  that every frame is answered): each frame gets exactly what the protocol promises, in
  order: a clear `error` (and the socket stays open) or the documented reply; the socket
  registry follows the subscriptions; and however the socket ends (a close, or a
  disconnect in the middle of a subscribe) the `portfolio_ws_connections_active` gauge,
  realtime.tracking.registry, the shutdown registry and the layer's groups are back at
  their baseline;
- over a real daphne (real limits, fragmented and invalid UTF-8 text frames too): every
  error is a documented code, every close a documented one (invalid UTF-8 fails the
  connection at the WebSocket layer, RFC 6455 8.1), the server never logs a traceback and
  ends at its baseline.

Bounded (a few dozen examples, derandomized) so that it runs in CI.
"""

import asyncio
import contextlib
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from portfolio_stream.asgi import application
from realtime import consumers, draining, stats
from realtime.error_codes import CLOSE_CODES, ErrorCode
from realtime.events import parse_event
from realtime.layers import wait_for_cleanups
from realtime.tracking import registry
from tests.faults.drill_support import OwnRedis, drill_processes, server_errors, start_drill_server
from tests.faults.fuzz_frames import OPEN_ERROR_CODES, Frame, actions, promise
from tests.integration.live_server import free_port, unique_prefix
from tests.integration.socket_clients import make_stream_users, session_cookie
from tests.load.harness import parse_prometheus
from tests.processes import Processes

__all__ = ["drill_processes"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

HEADERS = [(b"host", b"localhost"), (b"origin", b"http://localhost")]
IN_PROCESS_EXAMPLES = 60
DAPHNE_EXAMPLES = 25
# A text frame that is not UTF-8 fails the connection before the app sees it (RFC 6455
# 8.1): autobahn (failByDrop, its server default) drops the TCP connection without a close
# frame, which the client reports as 1006; 1007 is the code it would send otherwise.
INVALID_UTF8_CLOSES = (None, 1007)
bounded = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _baseline() -> dict[str, Any]:
    layer = get_channel_layer()
    return {
        "gauge": stats.stats_snapshot()["connections_active"],
        "registry": registry.summary()["connections"],
        "draining": len(draining.sockets),
        "groups": len(getattr(layer, "groups", {})),
    }


async def _answers(communicator: WebsocketCommunicator, pongs: int) -> list[dict[str, Any]]:
    """Frames up to the `pongs`-th pong (heartbeat pings skipped); nothing may follow."""
    frames = []
    while pongs:
        frame = await communicator.receive_json_from(timeout=5)
        parse_event(frame)  # every server frame matches its schema
        if frame["type"] == "ping":
            continue
        pongs -= frame["type"] == "pong"
        frames.append(frame)
    assert await communicator.receive_nothing(timeout=0.05)
    return frames[:-1]  # the sentinel's pong


def _check(frame: Frame, answer: list[dict[str, Any]], subscribed: set[str]) -> None:
    expected = promise(frame)
    types = [f["type"] for f in answer]
    if expected.errors:
        assert types == ["error"], (frame, answer)
        assert answer[0]["code"] in expected.errors, (frame, answer, expected)
        assert answer[0]["message"], answer
    elif expected.reply == "subscribed":
        assert types == ["subscribed"] + ["snapshot"] * len(expected.channels), (frame, answer)
        assert answer[0]["channels"] == list(expected.channels)
        assert [f["channel"] for f in answer[1:]] == list(expected.channels)
        subscribed.update(expected.channels)
    elif expected.reply == "unsubscribed":
        assert answer == [{"type": "unsubscribed", "channels": list(expected.channels)}]
        subscribed.difference_update(expected.channels)
    else:
        assert types == ([expected.reply] if expected.reply else []), (frame, answer)


async def _in_process(steps: list[tuple[str, Frame]], ending: str, cookie: bytes) -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/portfolio", headers=[*HEADERS, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    subscribed: set[str] = set()
    for _, frame in steps:
        # send_input: send_to() refuses an empty frame, which a client may well send.
        kind, data = frame
        await communicator.send_input({"type": "websocket.receive", kind: data})
        await communicator.send_to(text_data='{"type":"ping"}')  # the sentinel
        answer = await _answers(communicator, 2 if promise(frame).reply == "pong" else 1)
        _check(frame, answer, subscribed)
        assert registry.summary()["subscriptions"] == dict.fromkeys(subscribed, 1)
    if ending == "mid-subscribe":  # the client leaves while its snapshots are being read
        await communicator.send_json_to({"type": "subscribe", "channels": ["positions"]})
    await communicator.disconnect()
    await wait_for_cleanups(2.0)
    for _ in range(5):
        await asyncio.sleep(0)  # the cancelled layer receive finishes


@pytest.fixture
def in_memory_layer(settings: Any) -> Any:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_every_fuzzed_frame_gets_its_answer_and_cleanup_always_runs(
    in_memory_layer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "MAX_INBOUND_FRAMES_PER_SECOND", 100_000)
    user = make_stream_users(1, "fuzz")[0]
    cookie = session_cookie(user).encode()
    before = _baseline()

    @given(steps=actions, ending=st.sampled_from(["close", "mid-subscribe"]))
    @settings(bounded, max_examples=IN_PROCESS_EXAMPLES)
    def one_socket(steps: list[tuple[str, Frame]], ending: str) -> None:
        async_to_sync(_in_process)(steps, ending, cookie)
        assert _baseline() == before

    one_socket()


# --- Over a real daphne ------------------------------------------------------------------------


async def _over_daphne(url: str, origin: str, cookie: str, steps: list, ending: str) -> None:
    ws = await connect(
        url, additional_headers={"Origin": origin, "Cookie": cookie}, proxy=None, max_queue=None
    )
    frames = [frame for _, frame in steps]
    for kind, data in frames:
        if kind == "bytes":
            await ws.send(data)
        elif len(data) > 8:  # in fragments: the server must reassemble the message
            await ws.send([data[: len(data) // 3], data[len(data) // 3 :]])
        else:
            await ws.send(data)
    if ending == "invalid-utf8":
        await ws.send(b'{"type":"ping","x":"\xff\xfe"}', text=True)
    elif ending == "abrupt":
        ws.transport.abort()
        return
    else:
        await ws.send('{"type":"ping"}')
    received: list[dict[str, Any]] = []
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        async with asyncio.timeout(10):
            async for message in ws:
                frame = json.loads(message)
                received.append(frame)
                if frame["type"] == "pong" and ending == "close":
                    pongs = sum(f["type"] == "pong" for f in received)
                    if pongs == 1 + sum(promise(f).reply == "pong" for f in frames):
                        break
    code = ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None
    await ws.close()
    errors = [f["code"] for f in received if f["type"] == "error"]
    assert set(errors) <= {c.value for c in ErrorCode}, errors
    if ending == "invalid-utf8":
        assert code in INVALID_UTF8_CLOSES, (code, received)
    elif code is not None:  # the rate limit may close a fast client, after its error frame
        assert code in CLOSE_CODES and "rate_limited" in errors, (code, received)
    else:
        assert received and received[-1]["type"] == "pong", received
        assert set(errors) <= OPEN_ERROR_CODES | {"rate_limited"}, errors


def test_fuzzed_frames_over_a_real_daphne_never_crash_it(drill_processes: Processes) -> None:
    redis = OwnRedis(drill_processes)
    redis.start()
    cookie = session_cookie(make_stream_users(1, "fuzzd")[0])
    server = start_drill_server(
        drill_processes, "serve", port=free_port(), redis_url=redis.url(), prefix=unique_prefix()
    )

    @given(steps=actions, ending=st.sampled_from(["close", "close", "abrupt", "invalid-utf8"]))
    @settings(bounded, max_examples=DAPHNE_EXAMPLES)
    def one_socket(steps: list[tuple[str, Frame]], ending: str) -> None:
        asyncio.run(_over_daphne(server.ws_url, server.base_url, cookie, steps, ending))

    one_socket()
    state = server.probe()
    deadline = 10
    while state["connections_active"] or state["consumers"]:  # abrupt ones, noticed late
        deadline -= 1
        assert deadline, state
        asyncio.run(asyncio.sleep(1))
        state = server.probe()
    gauge = parse_prometheus(server.metrics()).get("portfolio_ws_connections_active")
    assert gauge == 0.0
    assert state["registry"]["connections"] == 0
    assert state["layer_channels"] == state["layer_groups"] == 0
    assert server.child.alive()
    assert server_errors(server) == []
