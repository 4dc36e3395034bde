"""Every documented close code, as a real client receives it from a real daphne.

autobahn (under daphne) refuses to send 1008, 1011, 1012 and 1013 from an application;
they used to arrive as 1011 with a traceback in the log. Each code here is caused the way
production causes it and read with the `websockets` client: the `error` frame that names
the reason, then the close code. 1012 is in test_shutdown_daphne.py.

The server runs with a 2 s client idle timeout (instead of 30 s) and a fault that makes
`unsubscribe` raise, for 4000 and 1011.
"""

import asyncio
import contextlib
import json
import subprocess
import sys
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.factories import make_account
from tests.integration.instrumented_server import InstrumentedServer, start_instrumented
from tests.integration.live_server import free_port, login, unique_prefix
from tests.integration.socket_clients import (
    EventSource,
    make_stream_users,
    next_frame,
    open_socket,
    processes,
    read_until_closed,
    redis_url,
    session_cookie,
    small_receive_buffer_socket,
    subscribe,
)
from tests.processes import REPO_ROOT, Processes, child_env

__all__ = ["processes", "redis_url"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-1"
IDLE_TIMEOUT_SECONDS = 2.0
FAST_HEARTBEAT = {
    "realtime.consumers:CLIENT_IDLE_TIMEOUT_SECONDS": IDLE_TIMEOUT_SECONDS,
    "realtime.consumers:HEARTBEAT_INTERVAL_SECONDS": 0.5,
}


def _errors(frames: list[dict[str, Any]]) -> list[str]:
    return [frame["code"] for frame in frames if frame["type"] == "error"]


async def _probe(server: InstrumentedServer) -> dict[str, Any]:
    return await asyncio.to_thread(server.probe)


async def _flood_1008(server: InstrumentedServer, cookie: str) -> tuple[list[str], int | None]:
    async with open_socket(server, cookie) as ws:

        async def flood() -> None:
            with contextlib.suppress(ConnectionClosed):
                # Bursts of 25 frames: over the limit (20) in every one-second window even
                # when a busy machine delays the sleeps (frames spread over time could leave
                # a window under the limit, which restarts the strikes).
                while True:
                    for _ in range(25):
                        await ws.send(json.dumps({"type": "ping"}))
                    await asyncio.sleep(0.2)

        flooding = asyncio.create_task(flood())
        frames, code, _ = await read_until_closed(ws)
        flooding.cancel()
        return _errors(frames), code


async def _idle_4000(server: InstrumentedServer, cookie: str) -> tuple[list[str], int | None]:
    async with open_socket(server, cookie) as ws:
        frames, code, _ = await read_until_closed(ws, timeout=IDLE_TIMEOUT_SECONDS + 5)
        assert "ping" in [f["type"] for f in frames]  # heartbeats came, answered by nothing
        return _errors(frames), code


async def _fault_1011(server: InstrumentedServer, cookie: str) -> tuple[list[str], int | None]:
    async with open_socket(server, cookie) as ws:
        await ws.send(json.dumps({"type": "unsubscribe", "channels": ["orders"]}))
        frames, code, _ = await read_until_closed(ws)
        return _errors(frames), code


async def _deep_json_stays_open(server: InstrumentedServer, cookie: str) -> list[str]:
    async with open_socket(server, cookie) as ws:
        await ws.send("[" * 1000 + "]" * 1000)
        error = await next_frame(ws, "error")
        await ws.send(json.dumps({"type": "ping"}))
        await next_frame(ws, "pong")  # the socket survived
        return [error["code"], error["message"]]


async def _logout_4401(server: InstrumentedServer, username: str) -> tuple[list[str], int | None]:
    browser = await login(server.base_url, username, PASSWORD)
    try:
        async with open_socket(server, browser.cookie_header) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            await next_frame(ws, "pong")
            response = await browser.client.post(
                f"{server.base_url}/accounts/logout/",
                headers={"X-CSRFToken": browser.csrf_token},
            )
            assert response.status_code == 302, response.text
            frames, code, _ = await read_until_closed(ws)
            return _errors(frames), code
    finally:
        await browser.client.aclose()


async def _slow_4008(
    server: InstrumentedServer, cookie: str, user_id: int, source: EventSource
) -> dict[str, Any]:
    """A client that stops reading while events stream: closed at the backlog limit."""
    before = await _probe(server)
    sock = small_receive_buffer_socket(server.port)
    ws: ClientConnection = await connect(
        server.ws_url,
        sock=sock,
        additional_headers={"Origin": server.base_url, "Cookie": cookie},
        max_queue=2,  # the client library stops reading the socket after two frames
        open_timeout=10,
    )
    await subscribe(ws, ["orders"])
    stop = asyncio.Event()
    streaming = asyncio.create_task(source.stream([user_id], 500, pad=4000, stop=stop))
    loop = asyncio.get_running_loop()
    stalled_at = loop.time()
    try:
        while True:  # not reading; a pong now and then keeps the idle timeout away
            await ws.send(json.dumps({"type": "pong"}))
            state = await asyncio.to_thread(server.probe, light=True)
            if state["errors"].get("code=slow_consumer"):
                break
            assert loop.time() - stalled_at < 20, f"no 4008 within 20s: {state}"
            await asyncio.sleep(0.2)
        closed_after = loop.time() - stalled_at
        # Reading again, within the server's close handshake timeout (5 s): everything
        # that was buffered, then the error and the close.
        frames, code, _ = await read_until_closed(ws)
        await asyncio.sleep(2.0)  # events keep coming for the closed socket's user
        during = await _probe(server)
    finally:
        stop.set()
        await streaming
    return {
        "closed_after_seconds": closed_after,
        "frames_read": len(frames),
        "last_error": _errors(frames)[-1:],
        "code": code,
        "rss_growth_kib": during["rss_kib"] - before["rss_kib"],
        "sent_events": source.sent,
    }


async def _unavailable_1013(server: InstrumentedServer, cookie: str) -> tuple[list[str], int]:
    async with open_socket(server, cookie) as ws:
        frames, code, _ = await read_until_closed(ws)
        assert code is not None
        return _errors(frames), code


async def _answer_heartbeats(ws: ClientConnection) -> None:
    """What a page does: a frame now and then, so the idle timeout never closes it."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await ws.send(json.dumps({"type": "pong"}))
            await asyncio.sleep(0.5)


def _rollout_off(redis_url: str, prefix: str, probe_dir: Any) -> None:
    """`manage.py rollout realtime_portfolio --off` from another process, as an operator."""
    launcher = [
        *(sys.executable, "-m", "tests.integration.instrumented_server"),
        *("--prefix", prefix, "--probe-dir", str(probe_dir), "--"),
    ]
    result = subprocess.run(
        [*launcher, "rollout", "realtime_portfolio", "--off"],
        cwd=REPO_ROOT,
        env=child_env(REDIS_URL=redis_url, DJANGO_DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_every_close_code_reaches_a_real_client(
    processes: Processes, redis_url: str, tmp_path: Any
) -> None:
    users = make_stream_users(7, "codes")
    cookies = [session_cookie(user) for user in users]
    trader = make_account("codes-trader").user
    prefix = unique_prefix()
    server = start_instrumented(
        processes,
        "serve",
        redis_url=redis_url,
        prefix=prefix,
        patches=FAST_HEARTBEAT,
        setup="tests.integration.faults:break_unsubscribe",
    )
    dead_layer = start_instrumented(
        processes,
        "serve-no-layer",
        redis_url=redis_url,
        prefix=prefix,
        layer_url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
    )

    async def scenario() -> dict[str, Any]:
        source = EventSource(redis_url, prefix)
        try:
            flood, idle, fault, deep, logout, slow, unavailable = await asyncio.gather(
                _flood_1008(server, cookies[0]),
                _idle_4000(server, cookies[1]),
                _fault_1011(server, cookies[2]),
                _deep_json_stays_open(server, cookies[3]),
                _logout_4401(server, trader.username),
                _slow_4008(server, cookies[4], users[4].pk, source),
                _unavailable_1013(dead_layer, cookies[5]),
            )
            async with open_socket(server, cookies[6]) as ws:
                await ws.send(json.dumps({"type": "ping"}))
                await next_frame(ws, "pong")
                alive = asyncio.create_task(_answer_heartbeats(ws))
                await asyncio.to_thread(_rollout_off, redis_url, prefix, tmp_path)
                frames, code, _ = await read_until_closed(ws)
                alive.cancel()
                rollout = (_errors(frames), code)
            await asyncio.sleep(0.5)
            return {
                "flood": flood,
                "idle": idle,
                "fault": fault,
                "deep": deep,
                "logout": logout,
                "slow": slow,
                "unavailable": unavailable,
                "rollout": rollout,
                "after": await _probe(server),
            }
        finally:
            await source.close()

    got = asyncio.run(scenario())
    print({k: v for k, v in got.items() if k != "after"})
    flood_errors, flood_code = got["flood"]
    # Two warnings, then the third second over the limit closes (with the same code).
    assert (flood_errors, flood_code) == (["rate_limited"] * 3, 1008)
    assert got["idle"] == (["heartbeat_timeout"], 4000)
    assert got["fault"] == (["internal_error"], 1011)
    assert got["deep"] == ["invalid_message", "The frame is nested deeper than 32 levels."]
    assert got["logout"] == (["logged_out"], 4401)
    assert got["unavailable"] == (["unavailable"], 1013)
    assert got["rollout"] == (["feature_disabled"], 4403)
    slow = got["slow"]
    assert (slow["last_error"], slow["code"]) == (["slow_consumer"], 4008)
    assert slow["rss_growth_kib"] < 16 * 1024, slow
    after = got["after"]
    assert after["connections_active"] == 0, after
    assert after["registry"]["connections"] == 0
    assert after["consumers"] == 0
    assert after["layer_channels"] == after["layer_groups"] == 0
    for code in ("1008", "1011", "4000", "4008", "4401", "4403"):
        assert after["disconnects"].get(f"code={code}") == 1, after["disconnects"]
    log = server.child.output()
    # The one traceback is the injected fault's, logged by the consumer; daphne logged none.
    assert log.count("Traceback") == 1, log
    assert "injected fault: unsubscribe" in log
    assert "Exception inside application" not in log
    assert "invalid close code" not in log
    assert "Traceback" not in dead_layer.child.output()
