"""Helpers shared by the browser tests: the live page's status, going live, buying, nudging."""

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveServer, login

STATUS = "#connection-status"
BANNER = "#staleness"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PHONE_SCALE = {"device_scale_factor": 2}
# The cells whose text colour follows their sign.
SIGNED_CELLS = (
    '[data-field="unrealized_pl"], [data-field="unrealized_plpc"], '
    '[data-field="unrealized_intraday_pl"], [data-field="day_pl"], [data-field="day_pl_pct"]'
)


def expect_status(page: Any, status: str, timeout: float = 5_000) -> None:
    expect(page.locator(STATUS)).to_have_attribute(
        "data-connection-status", status, timeout=timeout
    )


def go_live(page: Any, live: LiveServer) -> None:
    login(page, live)
    expect_status(page, "connected", timeout=10_000)


def buy(api: httpx.Client, symbol: str, qty: str) -> httpx.Response:
    order = {"symbol": symbol, "side": "buy", "qty": qty, "type": "market"}
    return api.post("/api/orders/", json=order)


def admin_session(server: LiveServer) -> httpx.Client:
    """The demo's admin logged into the admin site, for its test-trade page's price nudges."""
    client = httpx.Client(base_url=server.url, timeout=10)
    client.get("/admin/login/")
    response = client.post(
        "/admin/login/?next=/admin/",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{server.url}/admin/login/"},
    )
    assert response.status_code == 302, response.text
    return client


def nudge(admin: httpx.Client, symbol: str, percent: str) -> None:
    """Move a simulated price by `percent` on the server, as the admin's price nudge does."""
    assert admin.get("/admin/test-trade/").status_code == 200
    response = admin.post(
        "/admin/test-trade/",
        data={
            "nudge-symbol": symbol,
            "nudge-percent": percent,
            "csrfmiddlewaretoken": admin.cookies["csrftoken"],
        },
        headers={"Referer": f"{admin.base_url}/admin/test-trade/"},
    )
    # A redirect means done; the form again (200) carries the refusal.
    assert response.status_code == 302, response.text


def scroll_to(page: Any, selector: str) -> None:
    """Scroll so that `selector` starts just under the sticky top bar (for screenshots)."""
    page.evaluate(
        """(selector) => {
          const top = document.querySelector(selector).getBoundingClientRect().top;
          window.scrollTo(0, Math.max(0, top + window.scrollY - 76));
        }""",
        selector,
    )
