"""The trader's figures in Chromium against a live server: realized P&L booked by a closing
sell, the total unrealized P&L, the order history (filled, canceled, rejected; More; live
outcomes without a refetch), and the day chart drawn from the server's intraday history
across reloads, devices and reconnects."""

import math
import re
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portfolio_stream.pages import exact_value
from tests.browser.conftest import HELD, NOT_HELD, api_session, login, screenshot
from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    PHONE_SCALE,
    admin_session,
    buy,
    expect_status,
    go_live,
    nudge,
    scroll_to,
)
from trading.models import BrokerAccount, EquityPoint, Order
from trading.templatetags.trading_format import signed_usd

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

HISTORY = "[data-order-history]"
CLOSED_ORDERS = "status=closed"
NEW_YORK = ZoneInfo("America/New_York")
# The positions' unrealized P&L cells and the total, read at one moment (between two renders).
TOTAL_AND_CELLS = """() => ({
  total: document.querySelector('[data-field="total_unrealized_pl"]').dataset.value,
  cells: [...document.querySelectorAll('#positions tr[data-symbol] [data-field="unrealized_pl"]')]
    .map((c) => c.dataset.value),
})"""


def _history_row(page, order_id: str):
    return page.locator(f'{HISTORY} [data-order-id="{order_id}"]')


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _check_total(page) -> Decimal:
    """The total unrealized P&L equals the sum of the positions' figures, to the cent."""
    seen = page.evaluate(TOTAL_AND_CELLS)
    expected = sum((Decimal(v) for v in seen["cells"]), Decimal("0.00"))
    assert seen["total"] == str(expected), seen
    return expected


def _watch_history_requests(page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def test_a_closing_sell_books_realized_pl_and_moves_into_the_history(open_page, live, demo):
    page = open_page(viewport=DESKTOP)
    requests = _watch_history_requests(page)
    go_live(page, live)
    today = page.locator('[data-field="realized_pl_today"]')
    all_time = page.locator('[data-field="realized_pl"]')
    # The demo has closed nothing yet.
    expect(today).to_have_text("$0.00")
    expect(all_time).to_have_text("$0.00")

    held, entry = HELD["AAPL"]  # bought below today's price: a gain
    nudge(admin_session(live), "AAPL", "2")  # and a day change to show
    change = page.locator('[data-symbol="AAPL"] [data-field="change_today"]')
    expect(change).to_have_text(re.compile(r"^\+[1-9]\.\d\d%$"))  # the ticks alone stay under 1 %
    expect(change).to_have_class(re.compile(r"\bup\b"))

    # The total unrealized P&L is the positions' sum, to the cent.
    total = page.locator('[data-field="total_unrealized_pl"]')
    assert _check_total(page) > 0
    expect(total).to_have_class(re.compile(r"\bup\b"))  # text colour by sign

    # Sell them all through the ticket.
    ticket = page.locator("#ticket-form")
    expect(ticket).to_have_attribute("data-ready", "true")
    page.click("label[for=ticket-side-sell]")
    page.fill("#ticket-symbol", "AAPL")
    page.fill("#ticket-qty", str(held))
    expect(ticket.locator("button[type=submit]")).to_have_text("Sell AAPL")
    ticket.locator("button[type=submit]").click()
    toast = page.locator('[data-toast][data-toast-kind="fill"]')
    expect(toast).to_have_text(re.compile(rf"^Sold {held} AAPL @ \$\d+\.\d\d"), timeout=5_000)
    expect(page.locator('[data-symbol="AAPL"]')).to_have_count(0)

    # What the server booked: each fill's (price - entry) x qty, in cents.
    api = api_session(live)
    snapshot = api.get("/api/portfolio/snapshot/").json()
    closed = api.get("/api/orders/?status=closed").json()["results"]
    [sold] = [o for o in closed if (o["symbol"], o["side"]) == ("AAPL", "sell")]
    fills = [f for f in snapshot["recent_fills"] if f["order_id"] == sold["id"]]
    realized = sum(
        (_cents(Decimal(f["qty"]) * (Decimal(f["price"]) - entry)) for f in fills),
        Decimal("0.00"),
    )
    assert realized > 0 and Decimal(snapshot["account"]["realized_pl_today"]) == realized
    expect(today).to_have_attribute("data-value", str(realized))
    expect(today).to_have_text(signed_usd(realized))
    expect(today).to_have_class(re.compile(r"\bup\b"))
    expect(all_time).to_have_attribute("data-value", str(realized))
    expect(all_time).to_have_text(signed_usd(realized))
    # The other holdings are left: the total is their P&L.
    left = len(HELD) - 1
    expect(page.locator("#positions tr[data-symbol]")).to_have_count(left)
    _check_total(page)
    expect(page.locator('[data-count-for="positions-pl"]')).to_have_text(f"{left} open positions")

    # The order is in the history at once, filled, with its value; no history was fetched.
    row = _history_row(page, sold["id"])
    expect(row.locator('[data-field="status"]')).to_have_attribute("data-value", "filled")
    expect(row.locator('[data-field="status"]')).to_have_text("Filled")
    value = exact_value(Decimal(sold["filled_qty"]), Decimal(sold["filled_avg_price"]))
    expect(row.locator('[data-field="value"]')).to_have_attribute("data-value", str(value))
    expect(page.locator(f"{HISTORY} tbody tr[data-order-id]").first).to_have_attribute(
        "data-order-id", sold["id"]
    )
    assert not [url for url in requests if CLOSED_ORDERS in url], requests
    # The fill is listed with its value, qty x price exactly.
    for fill in fills:
        cell = page.locator(f'[data-execution-id="{fill["execution_id"]}"] [data-field="value"]')
        expected = exact_value(Decimal(fill["qty"]), Decimal(fill["price"]))
        assert expected is not None
        expect(cell).to_have_attribute("data-value", str(expected))
        expect(cell).to_have_text(f"${_cents(expected):,}")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "18-realized-pl")

    # All-time counts earlier days too: with a loss booked before today, the figures differ.
    # A reload (the server's first paint) shows both.
    BrokerAccount.objects.filter(pk=demo.pk).update(realized_pl=realized - Decimal("37.25"))
    page.reload()
    expect_status(page, "connected", timeout=10_000)
    expect(today).to_have_text(signed_usd(realized))
    expect(all_time).to_have_text(signed_usd(realized - Decimal("37.25")))
    expect(_history_row(page, sold["id"]).locator('[data-field="status"]')).to_have_text("Filled")


def _closed_orders(account: BrokerAccount, count: int) -> list[Order]:
    """`count` finished orders from before today, newest last: filled, canceled, expired."""
    start = timezone.now() - timedelta(days=2)
    orders = []
    for i in range(count):
        status = ("filled", "canceled", "expired")[i % 3]
        filled = status == "filled"
        orders.append(
            Order(
                account=account,
                client_order_id=f"old-{i}",
                symbol="JPM",
                side="buy",
                type="market",
                qty=Decimal("2"),
                filled_qty=Decimal("2") if filled else Decimal("0"),
                filled_avg_price=Decimal("240.125") if filled else None,
                status=status,
                submitted_at=start + timedelta(minutes=i),
                filled_at=start + timedelta(minutes=i) if filled else None,
            )
        )
    return Order.objects.bulk_create(orders)


def test_canceled_and_rejected_orders_show_in_the_history_with_more(open_page, live, demo):
    # A rejection the demo could get too (buying far beyond its means), as the broker records it.
    rejected = Order.objects.create(
        account=demo,
        client_order_id="too-big",
        symbol="NVDA",
        side="buy",
        type="market",
        qty=Decimal("5000"),
        status="rejected",
        reject_reason="Insufficient buying power: the order needs $693,000.00.",
        submitted_at=timezone.now() - timedelta(minutes=5),
        failed_at=timezone.now() - timedelta(minutes=5),
    )
    page = open_page(viewport=DESKTOP)
    requests = _watch_history_requests(page)
    go_live(page, live)
    history = page.locator(HISTORY)
    rows = history.locator("tbody tr[data-order-id]")
    count = history.locator("[data-count-for=history]")
    expect(rows).to_have_count(len(HELD) + 1)  # the demo's opening buys and sells, the rejection
    expect(count).to_have_text(str(len(HELD) + 1))
    row = _history_row(page, str(rejected.pk))
    expect(row.locator('[data-field="status"]')).to_have_text("Rejected")
    expect(row.locator('[data-field="reject_reason"]')).to_have_text(
        "Insufficient buying power: the order needs $693,000.00."
    )
    expect(row.locator('[data-field="value"]')).to_have_text("—")
    qty, entry = HELD["AAPL"]
    opening = exact_value(qty, entry)
    assert opening is not None
    opening_value = history.locator(
        f'tr[data-order-id] [data-field="value"][data-value="{opening}"]'
    )
    expect(opening_value).to_have_text(f"${_cents(opening):,}")
    expect(history.locator("[data-history-more]")).to_be_hidden()

    # A limit order canceled from another device: into the history at once, no refetch.
    api = api_session(live)
    placed = api.post(
        "/api/orders/",
        json={
            "symbol": NOT_HELD[0],
            "side": "buy",
            "qty": "2",
            "type": "limit",
            "limit_price": "1.00",
        },
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    open_row = page.locator(f'#open-orders tr[data-order-id="{order_id}"]')
    expect(open_row.locator('[data-field="status"]')).to_have_text("New", timeout=5_000)
    fetched = len([url for url in requests if CLOSED_ORDERS in url])
    assert api.delete(f"/api/orders/{order_id}/").status_code == 202
    canceled = _history_row(page, order_id)
    expect(canceled.locator('[data-field="status"]')).to_have_attribute(
        "data-value", "canceled", timeout=5_000
    )
    expect(open_row).to_have_count(0)
    expect(rows.first).to_have_attribute("data-order-id", order_id)
    expect(count).to_have_text(str(len(HELD) + 2))
    assert len([url for url in requests if CLOSED_ORDERS in url]) == fetched
    scroll_to(page, HISTORY)
    screenshot(page, "19-order-history")

    phone = open_page(**PHONE, **PHONE_SCALE)
    go_live(phone, live)
    phone_history = phone.locator(HISTORY)
    expect(phone_history.locator("tbody tr[data-order-id]").first).to_have_attribute(
        "data-order-id", order_id
    )
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    scroll_to(phone, HISTORY)
    screenshot(phone, "21-phone-order-history")

    # Older orders: the page shows the latest 50, More the API's next page, then no more.
    _closed_orders(demo, 55)
    total = len(HELD) + 2 + 55
    page.reload()
    expect_status(page, "connected", timeout=10_000)
    expect(rows).to_have_count(50)
    expect(count).to_have_text(str(total))
    more = history.locator("[data-history-more]")
    expect(more).to_be_visible()
    more.click()
    expect(rows).to_have_count(total)
    expect(more).to_be_hidden()
    assert [url for url in requests if CLOSED_ORDERS in url and "page=2" in url]
    old_fill = history.locator('tr[data-order-id] [data-field="value"][data-value="480.25"]')
    expect(old_fill.first).to_have_text("$480.25")


def _day_start(moment: datetime) -> datetime:
    """Midnight in New York: where the server's 1D history begins."""
    return datetime.combine(moment.astimezone(NEW_YORK).date(), time.min, tzinfo=NEW_YORK)


def _equity_points(account: BrokerAccount, minutes: int) -> list[datetime]:
    """One point a minute for the last `minutes` (within today in New York), a gentle wave
    around the previous close."""
    now = timezone.now().replace(second=0, microsecond=0)
    stamps = [now - timedelta(minutes=m) for m in range(minutes, 1, -1)]
    stamps = [s for s in stamps if s >= _day_start(now)]
    EquityPoint.objects.bulk_create(
        [
            EquityPoint(
                account=account,
                at=s,
                equity=account.last_equity
                + Decimal(str(round(30 * math.sin(i / 9) + 9 * math.sin(i / 2.5) - 8, 2))),
            )
            for i, s in enumerate(stamps)
        ],
        ignore_conflicts=True,  # the server's own recorder may have taken a minute
    )
    return stamps


def test_the_day_chart_draws_the_server_history_after_reloads_and_on_other_devices(
    open_page, live, demo
):
    stamps = _equity_points(demo, 90)
    if len(stamps) < 5:
        pytest.skip("just after midnight in New York: the trading day has no history yet")
    page = open_page(viewport=DESKTOP)
    go_live(page, live)
    chart = page.locator("#day-sparkline")
    expect(chart).to_have_attribute("data-source", "server", timeout=5_000)
    points = int(chart.get_attribute("data-points"))
    assert points >= len(stamps) + 1, (points, len(stamps))  # the history and the current equity
    assert page.locator("#day-sparkline [data-spark-tick]").count() >= 2
    expect(page.locator("#day-sparkline title")).to_contain_text(
        re.compile(r"\d+ points from \d\d:\d\d to \d\d:\d\d UTC")
    )
    assert chart.get_attribute("role") == "img"
    # Nothing of it lives in the browser any more.
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.includes('equity'))") == []
    first = page.evaluate("portfolioLive.series.points[0][0]")
    assert first == int(stamps[0].timestamp() * 1000)
    screenshot(page, "20-day-chart")

    page.reload()
    expect(chart).to_have_attribute("data-source", "server", timeout=5_000)
    assert int(chart.get_attribute("data-points")) >= len(stamps) + 1
    assert page.evaluate("portfolioLive.series.points[0][0]") == first

    other = open_page(viewport=DESKTOP)  # another device: its own browser, no shared storage
    login(other, live)
    other_chart = other.locator("#day-sparkline")
    expect(other_chart).to_have_attribute("data-source", "server", timeout=5_000)
    assert int(other_chart.get_attribute("data-points")) >= len(stamps) + 1

    # While the page was away the server kept recording: a reconnect fetches the history again.
    earlier = stamps[0] - timedelta(minutes=1)
    if earlier >= _day_start(stamps[0]):
        equity = demo.last_equity - Decimal("10.00")
        EquityPoint.objects.create(account=demo, at=earlier, equity=equity)
        page.evaluate("() => portfolioLive.client.dropConnection('test')")
        page.evaluate("() => portfolioLive.client.reconnectNow('test')")
        expect_status(page, "connected", timeout=10_000)
        page.wait_for_function(
            "(t) => portfolioLive.series.points[0][0] === t",
            arg=int(earlier.timestamp() * 1000),
            timeout=5_000,
        )


def test_buying_updates_the_total_unrealized_pl(open_page, live):
    page = open_page(viewport=DESKTOP)
    go_live(page, live)
    api = api_session(live)
    symbol = NOT_HELD[0]
    assert buy(api, symbol, "3").status_code == 201
    expect(page.locator(f'[data-symbol="{symbol}"] [data-field="qty"]')).to_have_text("3")
    opened = f"{len(HELD) + 1} open positions"
    expect(page.locator('[data-count-for="positions-pl"]')).to_have_text(opened)
    _check_total(page)
    page.wait_for_timeout(2_000)  # through a few price ticks
    _check_total(page)
