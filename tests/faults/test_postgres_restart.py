"""Drill 6: PostgreSQL stopped and started again under load.

A throwaway PostgreSQL cluster of its own (scripts/ensure_postgres.sh, on a free port: the
shared server is never touched) backs a real `manage.py serve` (daphne, the order worker
thread, the psycopg pool). Traders keep reading the account and placing orders while the
database goes away for a while and comes back. While it is down, every request fails
cleanly: a JSON 503 with Retry-After, never a 500 or an HTML page. Once it is back, the
pool recovers without a restart of the server, every order answered 201 exists exactly
once, and the worker fills a new order.
"""

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.live_server import Session, free_port, login
from tests.processes import REPO_ROOT, Processes, child_env

pytestmark = [pytest.mark.slow]

CLIENTS = 4
DOWN_SECONDS = 12.0  # longer than the pool's 10 s wait for a connection
RECOVERY_TIMEOUT_SECONDS = 40.0
ORDER = {"symbol": "AAPL", "side": "buy", "qty": "1", "type": "market"}


@dataclass
class Cluster:
    """A throwaway PostgreSQL that the test may stop and start."""

    url: str
    port: int
    directory: Path
    pg_bin: Path
    run_dir: Path

    def _pg_ctl(self, *args: str) -> None:
        owner = self.directory.stat().st_uid
        prefix = [] if owner == os.getuid() else ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*prefix, str(self.pg_bin / "pg_ctl"), "-D", str(self.directory / "data"), *args],
            check=True,
            cwd=self.directory,
            capture_output=True,
            timeout=60,
        )

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        # The options scripts/ensure_postgres.sh started it with: the same port and socket.
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._pg_ctl(
            "-l", str(self.directory / "server.log"), "-w", "-t", "30", "start", "-o", options
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    run_dir = tmp_path_factory.mktemp("postgres-run")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    # A port nothing listens on, so the script starts a throwaway cluster for this test alone.
    env.update(PG_PROBE_PORT=str(free_port()), PORTFOLIO_RUN_DIR=str(run_dir))
    started = subprocess.run(
        [str(REPO_ROOT / "scripts" / "ensure_postgres.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    directory, pg_bin = (run_dir / f"postgres-{port}.state").read_text().split("\n")[:2]
    try:
        yield Cluster(url, port, Path(directory), Path(pg_bin), run_dir)
    finally:
        subprocess.run(
            [str(REPO_ROOT / "scripts" / "stop_postgres.sh"), url],
            env=env,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    group = Processes(tmp_path_factory.mktemp("processes"))
    yield group
    group.close()


@dataclass
class Answer:
    at: float
    method: str
    status: int
    json: bool
    body: str


async def request(session: Session, base_url: str, method: str) -> Answer:
    try:
        if method == "POST":
            response = await session.post_json(f"{base_url}/api/orders/", ORDER)
        else:
            response = await session.client.get(f"{base_url}/api/account/")
    except httpx.HTTPError as error:
        return Answer(time.monotonic(), method, 0, False, repr(error))
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return Answer(time.monotonic(), method, response.status_code, is_json, response.text[:300])


async def trader(session: Session, base_url: str, stop: asyncio.Event, log: list[Answer]) -> None:
    n = 0
    while not stop.is_set():
        log.append(await request(session, base_url, "POST" if n % 3 == 0 else "GET"))
        n += 1
        await asyncio.sleep(0.05)


async def drill(base_url: str, cluster: Cluster) -> tuple[list[Answer], float, float, Session, int]:
    sessions = [await login(base_url, "demo", "demo") for _ in range(CLIENTS)]
    before = await orders_placed(sessions[0], base_url)  # the demo data's own orders
    for session in sessions:
        # Longer than the pool's 10 s wait: the client sees the server's answer, the 503.
        session.client.timeout = httpx.Timeout(30)
    log: list[Answer] = []
    stop = asyncio.Event()
    tasks = [asyncio.create_task(trader(s, base_url, stop, log)) for s in sessions]
    await asyncio.sleep(3)
    await asyncio.to_thread(cluster.stop)
    down_at = time.monotonic()
    await asyncio.sleep(DOWN_SECONDS)
    await asyncio.to_thread(cluster.start)
    up_at = time.monotonic()
    deadline = up_at + RECOVERY_TIMEOUT_SECONDS
    # Recovered: the last 20 answers, all after the restart, all succeeded.
    while time.monotonic() < deadline:
        recent = [a for a in log if a.at > up_at][-20:]
        if len(recent) == 20 and all(a.status in (200, 201) for a in recent):
            break
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*tasks)
    for session in sessions[1:]:
        await session.client.aclose()
    return log, down_at, up_at, sessions[0], before


async def order_filled(session: Session, base_url: str) -> str:
    response = await session.post_json(f"{base_url}/api/orders/", ORDER)
    assert response.status_code == 201, response.text
    order_id = response.json()["id"]
    deadline = time.monotonic() + 20
    status = ""
    while time.monotonic() < deadline:
        status = (await session.client.get(f"{base_url}/api/orders/{order_id}/")).json()["status"]
        if status == "filled":
            break
        await asyncio.sleep(0.2)
    return status


async def orders_placed(session: Session, base_url: str) -> int:
    response = await session.client.get(f"{base_url}/api/orders/?status=all")
    return int(response.json()["count"])


@dataclass
class Outcome:
    log: list[Answer]
    down_at: float
    up_at: float
    placed: int
    filled: str
    server_alive: bool
    logs: str


@pytest.fixture(scope="module")
def outcome(cluster: Cluster, processes: Processes) -> Outcome:
    """One run of the drill, which the tests below judge."""
    env = child_env(DATABASE_URL=cluster.url, DJANGO_DEBUG=1, REDIS_URL="")
    for command in (["migrate", "--noinput"], ["ensure_demo_data"]):
        setup = processes.manage(command[0], *command, env=env)
        assert setup.wait(timeout=180) == 0, processes.logs()
    port = free_port()
    server = processes.manage(
        "serve",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-market",
        "--no-broker-stream",
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/accounts/login/", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise AssertionError(f"the server did not start:\n{processes.logs()}")

    async def scenario() -> Outcome:
        log, down_at, up_at, session, before = await drill(base_url, cluster)
        try:
            placed = await orders_placed(session, base_url) - before
            filled = await order_filled(session, base_url)
        finally:
            await session.client.aclose()
        return Outcome(log, down_at, up_at, placed, filled, server.alive(), "")

    result = asyncio.run(scenario())
    result.logs = f"\n{processes.logs()[-6000:]}"
    return result


def test_requests_fail_cleanly_while_postgres_is_down_and_the_pool_recovers(outcome):
    log, context = outcome.log, outcome.logs
    failures = [a for a in log if a.status not in (200, 201)]
    assert [a for a in failures if a.status != 503 or not a.json] == [], context
    assert all('"detail"' in a.body for a in failures), context
    during = [a for a in log if outcome.down_at + 1 < a.at <= outcome.up_at]
    assert during and all(a.status == 503 for a in during), context
    after = [a for a in log if a.at > outcome.up_at]
    assert len(after) >= 20 and all(a.status in (200, 201) for a in after[-20:]), context
    assert outcome.server_alive, context
    # Every 201 is one order, and no 503 left one behind.
    assert outcome.placed == sum(a.status == 201 for a in log), context


def test_the_order_worker_works_the_queue_again_after_the_restart(outcome):
    assert outcome.filled == "filled", f"the order worker did not recover{outcome.logs}"
