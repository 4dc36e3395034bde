"""The live page in Chromium when the server restarts, the browser goes offline, data ages."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import HELD, NOT_HELD, fill_now, screenshot
from tests.browser.helpers import BANNER, DESKTOP, STATUS, expect_status, go_live

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


# Records every moment (checked each animation frame) at which a price says "live" while the
# indicator does not say "connected".
WATCH_LIVE_BADGES = """() => {
  window.__liveWhileDown = [];
  window.__statusSince = {};  // status -> when it was first seen
  const look = () => {
    const status = document.getElementById('connection-status').dataset.connectionStatus;
    if (!(status in window.__statusSince)) window.__statusSince[status] = performance.now();
    const live = document.querySelectorAll('#positions td.feed[data-feed="live"]').length;
    if (status !== 'connected' && live) window.__liveWhileDown.push(`${status}: ${live} live`);
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}"""


def _dom_portfolio(page) -> dict:
    return page.evaluate(DOM_PORTFOLIO)


def _rest_portfolio(page) -> dict:
    return page.evaluate(REST_PORTFOLIO)


def test_server_restart_falls_back_then_resyncs_with_nothing_missing(open_page, live, demo):
    page = open_page(viewport=DESKTOP)
    page.errors.allow_network_errors = True
    go_live(page, live)
    status = page.locator(STATUS)
    expect(page.locator('#positions td.feed[data-feed="live"]').first).to_be_visible(timeout=10_000)
    page.evaluate(WATCH_LIVE_BADGES)

    live.stop()
    expect(status).not_to_have_attribute("data-connection-status", "connected", timeout=5_000)
    expect(page.locator("#portfolio")).to_have_attribute("data-sync-mode", "polling")
    # No price is live while the socket is down; the sections say how old they are.
    expect(page.locator('#positions td.feed[data-feed="live"]')).to_have_count(0)
    expect(page.locator('[data-updated-for="positions"]')).to_contain_text("Updated")
    # A routine restart is a yellow "Reconnecting..." for 15 s, not red after half a second.
    page.wait_for_timeout(5_000)
    expect(status).to_have_attribute("data-connection-status", "connecting")
    expect(status).to_contain_text("Reconnecting...")
    screenshot(page, "04-reconnecting")
    # An order sent meanwhile cannot reach the server.
    page.fill("#ticket-symbol", "NVDA")
    page.fill("#ticket-qty", "1")
    page.locator("#ticket-form button[type=submit]").click()
    ticket_error = page.locator("#ticket-form [data-ticket-error]")
    expect(ticket_error).to_contain_text("Could not reach the server")
    expect(page.locator('[data-toast][data-toast-kind="error"]')).to_contain_text(
        "Could not reach the server"
    )
    expect(status).to_have_attribute("data-connection-status", "disconnected", timeout=15_000)
    since = page.evaluate("window.__statusSince")
    assert 14_500 <= since["disconnected"] - since["connecting"] < 17_000, since
    expect(status).to_contain_text("Offline - using cached data")
    screenshot(page, "05-offline-server-down")

    # Trades the page cannot hear about while the server is down: a new position, a closed one.
    opened = NOT_HELD[0]
    fill_now(demo, opened, "7")
    fill_now(demo, "AAPL", HELD["AAPL"][0], side="sell")

    live.start()
    expect(status).to_have_attribute("data-connection-status", "connected", timeout=45_000)
    expect(page.locator(f'[data-symbol="{opened}"] [data-field="qty"]')).to_have_text("7")
    expect(page.locator('[data-symbol="AAPL"]')).to_have_count(0)
    assert _dom_portfolio(page) == _rest_portfolio(page)
    expect(page.locator("#portfolio")).to_have_attribute("data-sync-mode", "live")
    # Back: the ticket no longer says the server cannot be reached.
    expect(ticket_error).to_be_hidden()
    assert page.evaluate("window.__liveWhileDown") == []
    screenshot(page, "06-reconnected")


def test_an_announced_restart_reconnects_within_seconds_of_the_server_return(open_page, live):
    """A 1012 close (the server restarting): retries stay a few seconds apart while it is down."""
    page = open_page(viewport=DESKTOP)
    page.errors.allow_network_errors = True
    routes = []

    def through(route):  # the page's socket, passed through to the server
        routes.append(route)
        route.connect_to_server()

    page.route_web_socket(re.compile(r"/ws/portfolio$"), through)
    go_live(page, live)
    status = page.locator(STATUS)

    routes[-1].close(code=1012, reason="server restarting")
    page.wait_for_function(
        "() => (portfolioLive.client.lastClose || {}).code === 1012", timeout=2_000
    )
    live.stop()
    expect(status).to_have_attribute("data-connection-status", "connecting")
    page.wait_for_timeout(8_000)  # down for a while: several refused attempts
    live.start()
    back_at = time.monotonic()
    expect(status).to_have_attribute("data-connection-status", "connected", timeout=10_000)
    # At most 3 s between attempts, plus the connection and its snapshots.
    assert time.monotonic() - back_at < 4.5


def test_offline_then_online_reconnects_at_once(open_page, live):
    page = open_page()
    page.errors.allow_network_errors = True
    go_live(page, live)
    status = page.locator(STATUS)

    page.evaluate(WATCH_LIVE_BADGES)
    page.context.set_offline(True)
    expect(status).to_have_attribute("data-connection-status", "disconnected", timeout=3_000)
    expect(status).to_contain_text("Offline - using cached data")
    expect(page.locator("#connection-tip")).to_contain_text("device is offline")
    expect(page.locator('#positions td.feed[data-feed="delayed"]')).to_have_count(len(HELD))
    screenshot(page, "07-offline")
    page.wait_for_timeout(4_000)  # let the backoff grow: the online event must not wait for it

    started = time.monotonic()
    page.context.set_offline(False)
    expect(status).to_have_attribute("data-connection-status", "connected", timeout=3_000)
    assert time.monotonic() - started < 2.5
    assert page.evaluate("window.__liveWhileDown") == []


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
    # The warning stays in sight, under the top bar, when the page scrolls.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("() => window.scrollY > 200")
    top = page.evaluate("document.getElementById('staleness').getBoundingClientRect().top")
    bar = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().bottom")
    assert bar <= top < bar + 20
    page.evaluate("window.scrollTo(0, 0)")
    page.clock.fast_forward(240_000)
    expect(banner).to_have_attribute("data-staleness", "stale")
    expect(banner).to_contain_text("Portfolio data is stale - click to refresh")
    expect(page.locator("#portfolio")).to_have_attribute("data-freshness", "stale")
    # The figures fade, the day's P&L in percent with the rest.
    for name in ("equity", "day_pl", "day_pl_pct", "total_unrealized_pl"):
        expect(page.locator(f'#account [data-field="{name}"]')).to_have_css("opacity", "0.55")
    screenshot(page, "09-stale")

    # Back online: the page reconnects by itself and the warning goes away.
    page.context.set_offline(False)
    expect_status(page, "connected")
    expect(banner).to_have_attribute("data-staleness", "fresh", timeout=5_000)
    expect(banner).to_be_hidden()
    expect(page.locator("#portfolio")).to_have_attribute("data-freshness", "fresh")
