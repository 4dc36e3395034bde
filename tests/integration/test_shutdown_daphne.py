"""Stopping the server closes every socket with 1012 and a reconnect hint, then exits.

Before, daphne cancelled every application on SIGTERM and the browsers saw 1006 (no close
frame). Now each socket gets `error` `server_restart` and close 1012 with the reason
"server restarting; reconnect", in batches, and the process exits once they are gone, or
after the grace period for clients that never answer. Both ways of serving are checked:
`manage.py serve` and the plain `daphne` command.
"""

import asyncio
import signal
import time
from typing import Any

import pytest

from realtime.consumers import RESTART_CLOSE_REASON
from tests.integration.instrumented_server import InstrumentedServer, start_instrumented
from tests.integration.live_server import unique_prefix
from tests.integration.socket_clients import (
    make_stream_users,
    open_socket,
    processes,
    read_until_closed,
    redis_url,
    session_cookie,
    small_receive_buffer_socket,
    subscribe,
)
from tests.processes import Processes

__all__ = ["processes", "redis_url"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SOCKETS = 60
# realtime.conf: a client that never answers the close is dropped after the close handshake
# timeout or the shutdown grace period (5 s each), whichever ends first.
EXIT_WITHIN_SECONDS = 9.0


async def _stop_and_read(
    server: InstrumentedServer, cookies: list[str], *, silent_client: bool
) -> tuple[list[tuple[list[str], int | None, str]], float, int]:
    sockets = []
    for start in range(0, len(cookies), 20):
        batch = await asyncio.gather(*(open_socket(server, c) for c in cookies[start : start + 20]))
        sockets.extend(batch)
    await asyncio.gather(*(subscribe(ws) for ws in sockets))
    silent = None
    if silent_client:
        # A client that stops reading: it never answers the close, the grace period ends it.
        from websockets.asyncio.client import connect

        silent = await connect(
            server.ws_url,
            sock=small_receive_buffer_socket(server.port),
            additional_headers={"Origin": server.base_url, "Cookie": cookies[0]},
            max_queue=1,
        )
        silent.transport.pause_reading()
    stopped_at = time.monotonic()
    server.child.popen.send_signal(signal.SIGTERM)
    results = await asyncio.gather(*(read_until_closed(ws, timeout=10) for ws in sockets))
    closes = [
        ([f["code"] for f in frames if f["type"] == "error"], c, r) for frames, c, r in results
    ]
    code = await asyncio.to_thread(server.child.wait, EXIT_WITHIN_SECONDS + 5)
    exited_after = time.monotonic() - stopped_at
    if silent is not None:
        silent.transport.abort()
    return closes, exited_after, code


@pytest.mark.parametrize("how", ["serve", "daphne"])
def test_sigterm_closes_every_socket_with_1012_then_exits(
    processes: Processes, redis_url: str, how: str
) -> None:
    users = make_stream_users(SOCKETS // 3, f"stop{how}")
    cookies = [session_cookie(user) for user in users for _ in range(3)]
    server = start_instrumented(
        processes, how, redis_url=redis_url, prefix=unique_prefix(), daphne=how == "daphne"
    )

    closes, exited_after, code = asyncio.run(
        _stop_and_read(server, cookies, silent_client=how == "serve")
    )
    print(f"{how}: {len(closes)} sockets closed; exited after {exited_after:.2f}s with {code}")
    expected: Any = (["server_restart"], 1012, RESTART_CLOSE_REASON)
    assert [c for c in closes if c != expected] == []
    assert code == 0
    assert exited_after < EXIT_WITHIN_SECONDS
    log = server.child.output()
    assert f"closing {SOCKETS + (how == 'serve')} socket(s) with 1012" in log
    assert "Traceback" not in log
    assert "Task was destroyed" not in log
    assert "took too long" not in log
