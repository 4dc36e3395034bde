"""Browser tests: Playwright drives Debian's Chromium against a live `manage.py serve`.

The server is a real child process (daphne with the order worker, the simulated market and
position sync) on the test database, so the page, the socket and the REST API are the ones a
user gets. Chromium is /usr/bin/chromium (tests/browser/ensure_chromium.sh installs it);
`playwright install` is never used. The trader is the `demo` user `make run` creates, made by
the same service (trading.services.demo), so the page the tests see is the one a reader of the
README gets after logging in as demo/demo. Screenshots go to test-output/browser/; with
UPDATE_DOC_SCREENSHOTS=1 those the user guide shows are also copied to docs/user/img/.
"""

import contextlib
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection, connections
from django.test import override_settings
from playwright import sync_api

from tests.docs.user_guide import GUIDE_IMAGES, guide_image_names
from tests.processes import Child, Processes, child_env
from tests.requirements import require
from trading.models import BrokerAccount
from trading.services.demo import DEMO_HOLDINGS, DEMO_LIMIT_ORDER, demo_data_ensure
from trading.services.orders import order_submit
from trading.worker import run_worker

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT_DIR = REPO_ROOT / "test-output" / "browser"
# The logins demo_data_ensure creates (the README's table); the `demo` fixture checks them.
DEMO_USER, DEMO_PASSWORD = "demo", "demo"
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin"
# The demo's opening holdings: symbol -> (signed quantity, entry price).
HELD = {symbol: (Decimal(qty), Decimal(price)) for symbol, qty, price in DEMO_HOLDINGS}
# Symbols the demo neither holds nor has an order for: buying one opens a new position.
NOT_HELD = ("AMZN", "META", "V", "INTC")
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
# What Chromium itself logs when a connection fails; expected while a test breaks the network.
NETWORK_NOISE = ("WebSocket connection to", "Failed to load resource", "net::ERR_")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@dataclass
class LiveServer:
    """`manage.py serve` on a fixed port, restartable (the page keeps its URL)."""

    processes: Processes
    port: int = field(default_factory=_free_port)
    child: Child | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        env = child_env(SIMULATED_TICK_INTERVAL_SECONDS="1.0")
        env.pop(ASYNC_UNSAFE, None)
        self.child = self.processes.manage(
            f"serve-{self.starts}", "serve", "--port", str(self.port), env=env
        )
        deadline = time.monotonic() + 30
        while not (_accepts(self.port) and "Serving on" in self.child.output()):
            if not self.child.alive() or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{self.child.output()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the way a deploy does (SIGTERM), then make sure it is gone."""
        assert self.child is not None
        self.child.kill(signal.SIGTERM)
        self.child.kill(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _accepts(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    yield group
    group.close()  # before the test database is flushed


@pytest.fixture
def server(processes: Processes) -> LiveServer:
    if connection.vendor != "sqlite":
        pytest.skip("the browser tests exercise the client; they run on the SQLite pass only")
    live = LiveServer(processes)
    live.start()
    return live


@pytest.fixture
def browser() -> Iterator[Any]:
    """A Chromium for one test, started after the test database is ready, gone before its flush.

    Playwright's sync API marks its asyncio loop as running in this thread while it lives.
    Django then treats the thread as async: it refuses ORM calls and keeps its connections in
    a separate, per-context store. So the browser lives strictly inside the test (the database
    fixture's setup and teardown, serialized rollback included, see the ordinary connection),
    Django's guard is lifted meanwhile for the test's own plain ORM calls, and the connections
    those opened are closed before Playwright stops. The server child never inherits this.
    """
    if connection.vendor != "sqlite":
        pytest.skip("the browser tests exercise the client; they run on the SQLite pass only")
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing: run tests/browser/ensure_chromium.sh")
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
                connections.close_all()  # the ones opened while the loop was "running"
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


class PageErrors:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.allow_network_errors = False

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            self.messages.append(f"console.error: {message.text}")

    def on_page_error(self, error: Any) -> None:
        self.messages.append(f"uncaught: {error}")

    def unexpected(self) -> list[str]:
        if not self.allow_network_errors:
            return self.messages
        return [m for m in self.messages if not any(noise in m for noise in NETWORK_NOISE)]


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """open_page(**context_options) -> a page whose console errors fail the test."""
    contexts: list[tuple[Any, PageErrors]] = []

    def factory(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1360, "height": 900})
        context = browser.new_context(**options)
        page = context.new_page()
        errors = PageErrors()
        page.on("console", errors.on_console)
        page.on("pageerror", errors.on_page_error)
        page.errors = errors
        contexts.append((context, errors))
        return page

    yield factory
    problems = [m for _, errors in contexts for m in errors.unexpected()]
    for context, _ in contexts:
        context.close()
    assert not problems, "console errors:\n" + "\n".join(problems)


def login(
    page: Any, server: LiveServer, username: str = DEMO_USER, password: str = DEMO_PASSWORD
) -> None:
    page.goto(f"{server.url}/accounts/login/?next=/portfolio/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/portfolio/")


def api_session(
    server: LiveServer, username: str = DEMO_USER, password: str = DEMO_PASSWORD
) -> httpx.Client:
    """A second client of the same user (another device), logged in through the login form."""
    client = httpx.Client(base_url=server.url, timeout=10)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"]
    response = client.post(
        "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{server.url}/accounts/login/"},
    )
    assert response.status_code == 302, response.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    client.headers["Referer"] = f"{server.url}/portfolio/"
    return client


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot; with UPDATE_DOC_SCREENSHOTS=1 also the guide's copy, if it shows one."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{name}.png"
    if full_page:
        # The top bar is sticky: a scrolled page is captured with it over the middle.
        page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
    page.screenshot(path=str(path), full_page=full_page, animations="allow")
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1" and name in guide_image_names():
        # The guide shows what demo/demo sees after `make run`, nobody else's portfolio.
        user = page.locator(".user-name").get_attribute("data-username")
        assert user == DEMO_USER, f"{name}: the guide's screenshots show the demo user, not {user}"
        GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, GUIDE_IMAGES / path.name)
    return path


def fill_now(account: BrokerAccount, symbol: str, qty: Decimal | str, side: str = "buy") -> None:
    """A market order filled by a worker in this process (the server does not hear of it)."""
    order_submit(account=account, symbol=symbol, side=side, qty=Decimal(qty), type="market")
    run_worker(stop=threading.Event(), burst=True, worker_id="test-worker")


@pytest.fixture
def demo() -> BrokerAccount:
    """The demo trader of `make run`: five holdings and a resting limit order, at seeded prices.

    Made by demo_data_ensure itself, not a copy of its data, so the guide's screenshots show
    what demo/demo sees. Each test starts from the migrated database (serialized rollback), so
    the prices are the simulated market's seeded ones, as on a fresh `make run`.
    """
    held = {*HELD, DEMO_LIMIT_ORDER[0]}
    assert not held & set(NOT_HELD), "NOT_HELD must name symbols the demo does not trade"
    # The service refuses outside DEBUG (as `make run` is); pytest-django turns DEBUG off here.
    with override_settings(DEBUG=True):
        logins = {(login.username, login.password) for login in demo_data_ensure()}
    assert {(DEMO_USER, DEMO_PASSWORD), (ADMIN_USER, ADMIN_PASSWORD)} <= logins
    return BrokerAccount.objects.select_related("user").get(user__username=DEMO_USER)


@pytest.fixture
def live(demo: BrokerAccount, server: LiveServer) -> LiveServer:
    return server
