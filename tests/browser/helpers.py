"""Helpers shared by the browser tests: the live page's status, going live, buying."""

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, login

STATUS = "#connection-status"
BANNER = "#staleness"


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
