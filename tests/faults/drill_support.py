"""Plumbing of the fault drills: a Redis of their own, servers restarted on the same port,
Redis connection counts and the server logs' errors.

Each drill starts its own throwaway `redis-server` (never the shared one on 6379): it can
be killed and started again, and its CLIENT LIST and memory hold nobody else's clients.
A drill server is tests/integration's instrumented `manage.py serve` (probes of its
registry, counters and layer), here on a port of the drill's choosing, so that a restart
comes back where the clients reconnect.
"""

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.instrumented_server import InstrumentedServer
from tests.integration.live_server import free_port
from tests.processes import Child, Processes, child_env
from tests.requirements import require

# Lines of a server log that mean the server failed somewhere (levels from settings.LOGGING).
SERVER_ERROR_MARKERS = (
    "Traceback",
    " ERROR ",
    " CRITICAL ",
    "Exception inside application",
    "took too long to shut down",
    "Task was destroyed but it is pending",
)


class OwnRedis:
    """A throwaway redis-server on a fixed port: killed and restarted by the drill."""

    def __init__(self, processes: Processes, port: int | None = None) -> None:
        self.binary = shutil.which("redis-server") or ""
        require(bool(self.binary), "the drills need redis-server")
        self.processes = processes
        self.port = port or free_port()
        self.starts = 0
        self.child: Child | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> None:
        self.starts += 1
        data_dir = self.processes.log_dir / f"redis-{self.starts}"
        data_dir.mkdir()
        command = [
            *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(data_dir)),
        ]
        self.child = self.processes.start(f"redis-{self.starts}", command, {})
        deadline = time.monotonic() + timeout
        while not self.answers():
            if not self.child.alive() or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start:\n{self.child.output()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: every client loses its connection without a goodbye."""
        assert self.child is not None
        self.child.kill()

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def client_count(self) -> int:
        """Connected clients, our own probe excluded."""
        with self.client() as probe:
            return len(probe.client_list()) - 1

    def used_memory(self) -> int:
        with self.client() as probe:
            return int(probe.info("memory")["used_memory"])

    def subscriptions(self, prefix: str) -> list[str]:
        """Pub/Sub channels named `prefix`* that someone is subscribed to."""
        with self.client() as probe:
            return sorted(c.decode() for c in probe.pubsub_channels(f"{prefix}*"))


def start_drill_server(
    processes: Processes,
    name: str,
    *,
    port: int,
    redis_url: str,
    prefix: str,
    worker: bool = False,
    env: dict[str, object] | None = None,
    wait: bool = True,
) -> InstrumentedServer:
    """`manage.py serve --no-market` on `port`, instrumented (see instrumented_server.py)."""
    probe_dir = processes.log_dir / f"{name}-probe"
    probe_dir.mkdir()
    launcher = [
        *(sys.executable, "-m", "tests.integration.instrumented_server"),
        *("--prefix", prefix, "--probe-dir", str(probe_dir), "--"),
    ]
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-market"]
    if not worker:
        command.append("--no-worker")
    defaults: dict[str, object] = dict(
        REDIS_URL=redis_url,
        SIMULATED_BROKER_LATENCY_SECONDS=0,
        DJANGO_DEBUG="1",
        ALPACA_DATA_API_KEY="",
        ALPACA_DATA_SECRET_KEY="",
    )
    child_environment = child_env(**{**defaults, **(env or {})})
    child = processes.start(name, [*launcher, *command], child_environment)
    server = InstrumentedServer(child, port, probe_dir)
    if wait:
        server.wait_ready()
    return server


def server_errors(*servers: InstrumentedServer) -> list[str]:
    """Every log line of `servers` that shows a failure, prefixed with the server's name."""
    found = []
    for server in servers:
        for line in server.child.output().splitlines():
            if any(marker in line for marker in SERVER_ERROR_MARKERS):
                found.append(f"{server.child.name}: {line}")
    return found


def count_lines(server: InstrumentedServer, text: str) -> int:
    return sum(text in line for line in server.child.output().splitlines())


def csrf_cookie_header(session_cookie: str, token: str) -> str:
    """A session cookie plus a CSRF cookie whose value the caller sends as X-CSRFToken."""
    return f"{session_cookie}; csrftoken={token}"


@pytest.fixture
def drill_processes(tmp_path: Path) -> Any:
    group = Processes(tmp_path)
    try:
        yield group
    finally:
        print(group.logs()[-20000:])  # pytest shows it only when the test failed
        group.close()
