"""The WebSocket handshake against a real daphne: paths, origins, sessions.

An unknown path is refused with 403 and no traceback (channels' URLRouter used to raise,
which daphne turned into a 500 and a logged ValueError). The Origin must be the server's
own scheme, host and port, or a CSRF_TRUSTED_ORIGINS entry.
"""

import asyncio

import pytest

from tests.integration.instrumented_server import start_instrumented
from tests.integration.live_server import unique_prefix
from tests.integration.socket_clients import (
    handshake_status,
    make_stream_users,
    processes,
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

TRUSTED = "http://trusted.example:8443"


def test_paths_and_origins_are_checked_without_tracebacks(
    processes: Processes, redis_url: str
) -> None:
    cookie = session_cookie(make_stream_users(1, "handshake")[0])
    server = start_instrumented(
        processes,
        "serve",
        redis_url=redis_url,
        prefix=unique_prefix(),
        env={"DJANGO_CSRF_TRUSTED_ORIGINS": f"{TRUSTED},https://*.trusted.example"},
    )
    own = server.base_url
    other_port = f"http://127.0.0.1:{server.port + 1 if server.port < 65535 else 1}"

    async def statuses() -> dict[str, int]:
        checks = {
            "own origin": handshake_status(server, cookie),
            "own origin, no session": handshake_status(server, None),
            "localhost for 127.0.0.1": handshake_status(
                server, cookie, origin=f"http://localhost:{server.port}"
            ),
            "same host, other port": handshake_status(server, cookie, origin=other_port),
            "same host, no port": handshake_status(server, cookie, origin="http://127.0.0.1"),
            "https for an http server": handshake_status(
                server, cookie, origin=f"https://127.0.0.1:{server.port}"
            ),
            "another site": handshake_status(server, cookie, origin="http://evil.example"),
            "trusted origin": handshake_status(server, cookie, origin=TRUSTED),
            "trusted origin, other port": handshake_status(
                server, cookie, origin="http://trusted.example:9443"
            ),
            "trusted subdomain": handshake_status(
                server, cookie, origin="https://app.trusted.example"
            ),
            "unknown path": handshake_status(server, cookie, path="/ws/other"),
            "trailing slash": handshake_status(server, cookie, path="/ws/portfolio/"),
            "unknown path, no session": handshake_status(server, None, path="/ws/other"),
            "not under /ws": handshake_status(server, None, path="/portfolio/"),
        }
        results = await asyncio.gather(*checks.values())
        return dict(zip(checks, results, strict=True))

    got = asyncio.run(statuses())
    assert got == {
        "own origin": 101,
        "own origin, no session": 403,
        # The Host header is 127.0.0.1:<port>, so localhost is another origin.
        "localhost for 127.0.0.1": 403,
        "same host, other port": 403,
        "same host, no port": 403,
        "https for an http server": 403,
        "another site": 403,
        "trusted origin": 101,
        "trusted origin, other port": 403,
        "trusted subdomain": 101,
        "unknown path": 403,
        "trailing slash": 403,
        "unknown path, no session": 403,
        "not under /ws": 403,
    }
    assert own.startswith("http://127.0.0.1:")
    log = server.child.output()
    assert "Traceback" not in log
    assert "No route found" not in log
    assert " 500" not in log
