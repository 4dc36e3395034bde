"""The operator's side in Chromium: the WebSocket stats panel, a test trade a trader's page
shows at once, a price nudge, and the kill switch acting on an open page (and back on)."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from rollout.flags import REALTIME_PORTFOLIO
from rollout.services import rollout_set_everyone
from tests.browser.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    DEMO_USER,
    HELD,
    LiveServer,
    screenshot,
)
from tests.browser.helpers import STATUS, expect_status, go_live

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _admin_login(page, server: LiveServer) -> None:
    page.goto(f"{server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", ADMIN_USER)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{server.url}/admin/")


def test_stats_panel_counts_the_open_page(open_page, live: LiveServer) -> None:
    trader_page = open_page()
    go_live(trader_page, live)

    admin = open_page(viewport={"width": 1440, "height": 1100})
    _admin_login(admin, live)
    admin.click("[data-admin-link=websocket-stats]")
    panel = admin.locator("#ws-stats")
    expect(panel).to_have_attribute("data-loaded", "true", timeout=10_000)
    expect(admin.locator('[data-stat="activeConnections"]')).to_have_text("1")
    expect(admin.locator('[data-table="rollout"]')).to_contain_text("on")
    expect(admin.locator('[data-table="channels"]')).to_contain_text("positions")
    expect(admin.locator('[data-table="processes"]')).to_have_attribute("data-count", "1")
    latency = admin.locator('[data-stat="latency.p95"]')
    no_value = "\u2013"  # the panel's en dash for "no number yet"
    expect(latency).not_to_have_text(no_value, timeout=10_000)  # snapshots are timed frames
    # Refreshed every 5 s: a second page shows up without a reload.
    second = open_page()
    go_live(second, live)
    expect(admin.locator('[data-stat="activeConnections"]')).to_have_text("2", timeout=8_000)
    screenshot(admin, "20-admin-websocket-stats", full_page=True)
    assert admin.locator("a", has_text="websocket-operations").count() == 1


def test_test_trade_and_price_nudge_show_on_the_traders_page(open_page, live: LiveServer) -> None:
    trader_page = open_page()
    go_live(trader_page, live)
    qty = trader_page.locator('tr[data-symbol="AAPL"] [data-field="qty"]')
    held = HELD["AAPL"][0]
    expect(qty).to_have_text(f"{held:,}")

    admin = open_page()
    _admin_login(admin, live)
    admin.click("[data-admin-link=test-trade]")
    form = admin.locator("[data-form=test-trade]")
    form.locator("select[name=trade-user]").select_option(DEMO_USER)
    form.locator("select[name=trade-symbol]").select_option("AAPL")
    form.locator("select[name=trade-side]").select_option("buy")
    form.locator("input[name=trade-qty]").fill("3")
    form.locator("input[type=submit]").click()
    expect(admin.locator(".messagelist")).to_contain_text(f"for {DEMO_USER}: buy 3")
    expect(qty).to_have_text(f"{held + 3:,}", timeout=5_000)

    price = trader_page.locator('tr[data-symbol="MSFT"] [data-field="current_price"]')
    before = Decimal(re.sub(r"[^0-9.]", "", price.inner_text()))
    nudge = admin.locator("[data-form=price-nudge]")
    nudge.locator("select[name=nudge-symbol]").select_option("MSFT")
    nudge.locator("input[name=nudge-percent]").fill("10")
    nudge.locator("input[type=submit]").click()
    expect(admin.locator(".messagelist")).to_contain_text("MSFT moved +10")
    trader_page.wait_for_function(
        """([before]) => {
          const row = document.querySelector('tr[data-symbol="MSFT"]');
          const cell = row.querySelector('[data-field="current_price"]');
          return Number(cell.textContent.replace(/[^0-9.]/g, "")) > Number(before) * 1.05;
        }""",
        arg=[str(before)],
        timeout=5_000,
    )
    screenshot(admin, "21-admin-test-trade")


def test_kill_switch_reaches_the_open_page_and_back_on_it_streams_again(
    open_page, live: LiveServer
) -> None:
    page = open_page()
    page.clock.install()
    go_live(page, live)
    root = page.locator("#portfolio")

    rollout_set_everyone(name=REALTIME_PORTFOLIO, on=False)
    # The server's watcher polls every 2 s; the page hears 4403 and polls instead.
    page.clock.run_for(5_000)
    expect(root).to_have_attribute("data-realtime", "off", timeout=5_000)
    expect(page.locator(STATUS)).to_contain_text("Live updates off")

    rollout_set_everyone(name=REALTIME_PORTFOLIO, on=True)
    page.clock.fast_forward(31_000)  # the next 30 s poll says realtime_enabled: true
    expect(root).to_have_attribute("data-realtime", "on", timeout=5_000)
    expect_status(page, "connected", timeout=10_000)
