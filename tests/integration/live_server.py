"""Real `manage.py serve` processes for tests: a free port, Redis, the test database, a login.

Redis Pub/Sub channels are shared by every database number of a server, so a distinct
Redis db alone does not keep parallel runs apart: two runs' user 1 would hear each
other. Each server group therefore gets its own channel-layer prefix and cache key
prefix, set by this module's launcher before Django reads its settings:

    python -m tests.integration.live_server --prefix P -- serve --port N --no-market
"""

import argparse
import asyncio
import json
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.processes import MANAGE_PY, REPO_ROOT, Child, Processes, child_env

# A Redis database of its own for the cache (the waffle flag, stats) of these servers.
LIVE_REDIS_DB = 7
READY_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def live_redis_url(db: int = LIVE_REDIS_DB) -> str:
    """The test Redis (TEST_REDIS_URL, REDIS_URL or the local default) at database `db`."""
    base = (
        os.environ.get("TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    )
    parts = urlsplit(base)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise AssertionError(f"these tests need Redis at {url}: {error}") from error
    return url


def unique_prefix() -> str:
    return f"live{os.getpid()}x{uuid.uuid4().hex[:8]}"


class LiveServer:
    """One `manage.py serve` child on its own port."""

    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws/portfolio"

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> float:
        """Poll the login page until it answers 200; returns the seconds it took."""
        started = time.monotonic()
        with httpx.Client(trust_env=False, timeout=2) as client:
            while True:
                if not self.child.alive():
                    raise AssertionError(f"{self.child.name} exited early:\n{self.child.output()}")
                try:
                    if client.get(f"{self.base_url}/accounts/login/").status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > timeout:
                    raise AssertionError(
                        f"{self.child.name} did not answer HTTP within {timeout}s:\n"
                        f"{self.child.output()}"
                    )
                time.sleep(0.1)


def start_server(
    processes: Processes,
    name: str,
    *,
    redis_url: str,
    prefix: str,
    worker: bool = True,
    env: dict[str, object] | None = None,
) -> LiveServer:
    """Start `serve` without the simulated market (prices stay where the test put them)."""
    port = free_port()
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-market"]
    if not worker:
        command.append("--no-worker")
    child_environment = child_env(
        REDIS_URL=redis_url,
        SIMULATED_BROKER_LATENCY_SECONDS=0,
        DJANGO_DEBUG="1",
        # No market-data keys from the parent: no Alpaca streams in these servers.
        ALPACA_DATA_API_KEY="",
        ALPACA_DATA_SECRET_KEY="",
        **(env or {}),
    )
    launcher = [sys.executable, "-m", "tests.integration.live_server", "--prefix", prefix, "--"]
    child = processes.start(name, [*launcher, *command], child_environment)
    return LiveServer(child, port)


# --- A browser's session ---------------------------------------------------------------------

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Session:
    """A logged-in browser: the session cookie plus the CSRF token for unsafe requests."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())

    @property
    def csrf_token(self) -> str:
        return str(self.client.cookies["csrftoken"])

    async def post_json(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            url,
            content=json.dumps(payload),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf_token},
        )


async def login(base_url: str, username: str, password: str) -> Session:
    """Log in through the real form: GET it for the CSRF token, POST the credentials."""
    client = httpx.AsyncClient(trust_env=False, timeout=10)
    page = await client.get(f"{base_url}/accounts/login/")
    assert page.status_code == 200, page.text
    match = _CSRF_INPUT.search(page.text)
    assert match, "no csrfmiddlewaretoken in the login form"
    response = await client.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": match[1]},
        headers={"Referer": f"{base_url}/accounts/login/"},
    )
    assert response.status_code == 302, f"login failed ({response.status_code}): {response.text}"
    assert "sessionid" in client.cookies, "the login set no session cookie"
    return Session(client)


# --- Reading a socket --------------------------------------------------------------------------


class FrameLog:
    """Every frame a socket receives, stamped with time.perf_counter() as it arrives.

    A background task reads the socket, so a frame's time is its arrival even while the
    test is busy waiting on another socket.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.closed = False
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.frames.append((time.perf_counter(), json.loads(message)))
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self._changed.set()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float, what: str
    ) -> tuple[float, dict[str, Any]]:
        """The first frame received so far or from now on that satisfies `predicate`."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for arrived, frame in self.frames:
                        if predicate(frame):
                            return arrived, frame
                    if self.closed:
                        raise AssertionError(f"the socket closed before {what}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            seen = [f.get("type") for _, f in self.frames]
            raise AssertionError(f"no {what} within {timeout}s; frames: {seen}") from None


def events_of(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """The events a frame carries: a batch's list, or the frame itself."""
    return list(frame["events"]) if frame.get("type") == "batch" else [frame]


# --- The launcher -------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m tests.integration.live_server")
    parser.add_argument("--prefix", required=True, help="channel-layer and cache key prefix")
    options = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    os.chdir(REPO_ROOT)
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # Before anything builds the channel layer or the cache from these settings.
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    if "Redis" not in layer["BACKEND"]:
        raise SystemExit("the live server tests need REDIS_URL (the Redis channel layer)")
    layer.setdefault("CONFIG", {})["prefix"] = options.prefix
    settings.CACHES["default"]["KEY_PREFIX"] = options.prefix
    settings.CACHES["waffle"]["KEY_PREFIX"] = options.prefix
    settings.STATS_REDIS_PREFIX = f"{options.prefix}:stats:"
    execute_from_command_line([str(MANAGE_PY), *command])


if __name__ == "__main__":
    main(sys.argv[1:])
