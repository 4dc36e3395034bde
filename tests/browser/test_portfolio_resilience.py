"""The live page in Chromium when the server restarts, the browser goes offline, data ages."""

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fill_now, screenshot
from tests.browser.helpers import BANNER, STATUS, expect_status, go_live

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DOM_PORTFOLIO = """() => {
  const all = (selector) => [...document.querySelectorAll(selector)];
  return {
    positions: Object.fromEntries(all('#positions tr[data-symbol]').map(
      (r) => [r.dataset.symbol, r.querySelector('[data-field="qty"]').dataset.value])),
    orders: all('#open-orders tr[data-order-id]').map((r) => r.dataset.orderId).sort(),
    fills: all('#recent-fills tr[data-execution-id]').map((r) => r.dataset.executionId),
  };
}"""
REST_PORTFOLIO = """async () => {
  const response = await fetch('/api/portfolio/snapshot/', {credentials: 'same-origin'});
  const s = await response.json();
  return {
    positions: Object.fromEntries(s.positions.map((p) => [p.symbol, p.qty])),
    orders: s.open_orders.map((o) => o.id).sort(),
    fills: s.recent_fills.map((f) => f.execution_id),
  };
}"""


def _dom_portfolio(page) -> dict:
    return page.evaluate(DOM_PORTFOLIO)


def _rest_portfolio(page) -> dict:
    return page.evaluate(REST_PORTFOLIO)


def test_server_restart_falls_back_then_resyncs_with_nothing_missing(open_page, live, trader):
    page = open_page()
    page.errors.allow_network_errors = True
    go_live(page, live)
    status = page.locator(STATUS)

    live.stop()
    expect(status).not_to_have_attribute("data-connection-status", "connected", timeout=5_000)
    expect(page.locator("#portfolio")).to_have_attribute("data-sync-mode", "polling")
    screenshot(page, "04-reconnecting")
    expect(status).to_have_attribute("data-connection-status", "disconnected", timeout=20_000)
    expect(status).to_contain_text("Offline - using cached data")
    screenshot(page, "05-offline-server-down")

    # Trades the page cannot hear about while the server is down.
    fill_now(trader, "TSLA", "7")
    fill_now(trader, "AAPL", "10", side="sell")  # closes AAPL

    live.start()
    expect(status).to_have_attribute("data-connection-status", "connected", timeout=45_000)
    expect(page.locator('[data-symbol="TSLA"] [data-field="qty"]')).to_have_text("7")
    expect(page.locator('[data-symbol="AAPL"]')).to_have_count(0)
    assert _dom_portfolio(page) == _rest_portfolio(page)
    expect(page.locator("#portfolio")).to_have_attribute("data-sync-mode", "live")
    screenshot(page, "06-reconnected")


def test_offline_then_online_reconnects_at_once(open_page, live):
    page = open_page()
    page.errors.allow_network_errors = True
    go_live(page, live)
    status = page.locator(STATUS)

    page.context.set_offline(True)
    expect(status).to_have_attribute("data-connection-status", "disconnected", timeout=3_000)
    expect(status).to_contain_text("Offline - using cached data")
    expect(page.locator("#connection-tip")).to_contain_text("device is offline")
    screenshot(page, "07-offline")
    page.wait_for_timeout(4_000)  # let the backoff grow: the online event must not wait for it

    started = time.monotonic()
    page.context.set_offline(False)
    expect(status).to_have_attribute("data-connection-status", "connected", timeout=3_000)
    assert time.monotonic() - started < 2.5


def test_staleness_warnings_after_60_s_and_5_minutes(open_page, live):
    page = open_page()
    page.errors.allow_network_errors = True
    page.clock.install()
    go_live(page, live)
    banner = page.locator(BANNER)
    expect(banner).to_be_hidden()

    page.context.set_offline(True)
    page.clock.fast_forward(61_000)
    expect(banner).to_have_attribute("data-staleness", "delayed")
    expect(banner).to_contain_text("Portfolio data may be delayed")
    screenshot(page, "08-delayed")
    page.clock.fast_forward(240_000)
    expect(banner).to_have_attribute("data-staleness", "stale")
    expect(banner).to_contain_text("Portfolio data is stale - click to refresh")
    expect(page.locator("#portfolio")).to_have_attribute("data-freshness", "stale")
    screenshot(page, "09-stale")

    # Back online: the page reconnects by itself and the warning goes away.
    page.context.set_offline(False)
    expect_status(page, "connected")
    expect(banner).to_have_attribute("data-staleness", "fresh", timeout=5_000)
    expect(banner).to_be_hidden()
    expect(page.locator("#portfolio")).to_have_attribute("data-freshness", "fresh")
