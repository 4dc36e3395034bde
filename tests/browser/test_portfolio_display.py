"""What the live page shows, in Chromium against a live server: colours that follow the sign
through every flash, no flashing on quiet ticks, prices at 2 decimals with the exact value in a
tooltip, order outcomes as toasts and in the ticket, and the positions table's layout."""

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import HELD, NOT_HELD, api_session, screenshot
from tests.browser.helpers import DESKTOP, SIGNED_CELLS, admin_session, buy, go_live, nudge
from trading.models import Instrument
from trading.templatetags.trading_format import price as exact_price

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Every 100 ms: each signed cell's sign (from data-value), its text colour (as the .up / .down
# colour or neither), its flash classes and its background.
START_SAMPLING = """(selector) => {
  const probe = (name) => {
    const span = document.createElement('span');
    span.className = name;
    document.body.append(span);
    const colour = getComputedStyle(span).color;
    span.remove();
    return colour;
  };
  const up = probe('up'), down = probe('down');
  window.__samples = [];
  window.__sampler = setInterval(() => {
    for (const cell of document.querySelectorAll(selector)) {
      const value = cell.dataset.value;
      const sign = !/[1-9]/.test(value) ? 'flat' : value.startsWith('-') ? 'down' : 'up';
      const style = getComputedStyle(cell);
      window.__samples.push({
        field: cell.dataset.field,
        symbol: cell.closest('[data-symbol]') ? cell.closest('[data-symbol]').dataset.symbol : '',
        value, sign,
        colour: style.color === up ? 'up' : style.color === down ? 'down' : 'neither',
        flash: [...cell.classList].filter((name) => name.startsWith('flash-')).join(' '),
        background: style.backgroundColor,
      });
    }
  }, 100);
}"""
STOP_SAMPLING = "() => { clearInterval(window.__sampler); return window.__samples; }"
# Counts the flashes (and motions) the account figures get.
COUNT_ACCOUNT_FLASHES = """() => {
  window.__accountFlashes = [];
  new MutationObserver((records) => {
    for (const record of records) {
      const cell = record.target;
      const added = [...cell.classList].filter((n) => n.startsWith('flash-'));
      if (added.length) window.__accountFlashes.push(`${cell.dataset.field}:${added.join(' ')}`);
    }
  }).observe(document.getElementById('account'),
    {subtree: true, attributes: true, attributeFilter: ['class']});
}"""
EXPECTED_COLOUR = {"up": "up", "down": "down", "flat": "neither"}


def _pl(page, symbol: str):
    return page.locator(f'[data-symbol="{symbol}"] [data-field="unrealized_pl"]')


def _long_loser_and_winner() -> tuple[str, str]:
    """A long demo holding below its entry price and one above it, at today's prices."""
    listed = Instrument.objects.values_list("symbol", "price")
    prices = {symbol: price for symbol, price in listed if price is not None}
    longs = {symbol: entry for symbol, (qty, entry) in HELD.items() if qty > 0}
    losers = [symbol for symbol, entry in longs.items() if prices[symbol] < entry]
    winners = [symbol for symbol, entry in longs.items() if prices[symbol] > entry]
    assert losers and winners, "the demo opens with a losing and a winning long position"
    return losers[0], winners[0]


def test_text_colour_follows_the_sign_through_every_flash(open_page, live):
    page = open_page(viewport=DESKTOP)
    go_live(page, live)

    # Quiet market ticks (a few dollars on $100,000) flash nothing in the account header.
    page.evaluate(COUNT_ACCOUNT_FLASHES)
    page.wait_for_timeout(5_000)
    assert page.evaluate("window.__accountFlashes") == []

    # The demo opens with losses and gains, a few percent from the entry prices.
    loser, winner = _long_loser_and_winner()
    admin = admin_session(live)
    expect(_pl(page, loser)).to_have_attribute("data-value", re.compile(r"^-\d*[1-9]"))
    expect(_pl(page, winner)).to_have_attribute("data-value", re.compile(r"^\d*[1-9]"))

    # 0.25 % of a demo position (about $8,000) is some $20: enough to tint the position's
    # cells, far from 0.05 % of the account's $100,000 that would move them. Back and forth,
    # so the moves do not add up to one that does.
    page.evaluate(START_SAMPLING, SIGNED_CELLS)
    for towards, away in (("0.25", "-0.25"), ("-0.25", "0.25")):
        nudge(admin, loser, towards)  # first the loss shrinks: a green flash on a red figure
        nudge(admin, winner, away)  # and the gain: a red flash on a green figure
        page.wait_for_timeout(1_500)
    samples = page.evaluate(STOP_SAMPLING)

    flashing = [s for s in samples if s["flash"]]
    assert any(
        s["symbol"] == loser and "flash-up" in s["flash"] and s["sign"] == "down" for s in flashing
    )
    assert any(
        s["symbol"] == winner and "flash-down" in s["flash"] and s["sign"] == "up" for s in flashing
    )
    wrong = [s for s in samples if s["colour"] != EXPECTED_COLOUR[s["sign"]]]
    assert not wrong, f"{len(wrong)} of {len(samples)} samples contradict the sign: {wrong[:5]}"
    # The flash is a background tint.
    assert any(s["background"] not in ("rgba(0, 0, 0, 0)", "transparent") for s in flashing)
    # A position's P&L swells or shakes only for a move that matters to the account.
    assert not any("flash-motion" in s["flash"] for s in samples if s["symbol"])


def test_prices_show_two_decimals_and_the_exact_value_in_a_tooltip(open_page, live):
    page = open_page(viewport=DESKTOP)
    go_live(page, live)
    nudge(admin_session(live), "AAPL", "7.3")  # an odd price, so the new average is uneven
    api = api_session(live)
    held, entry = HELD["AAPL"]
    assert buy(api, "AAPL", "3").status_code == 201
    expect(page.locator('[data-symbol="AAPL"] [data-field="qty"]')).to_have_text(f"{held + 3:,}")
    average = page.locator('[data-symbol="AAPL"] [data-field="avg_entry_price"]')
    expect(average).not_to_have_attribute("data-value", f"{entry:.8f}")

    # (held x entry + 3p) / (held + 3): stored with 8 decimals.
    exact = Decimal(average.get_attribute("data-value"))
    rounded = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    expect(average).to_have_text(f"${rounded:,}")
    expect(average).to_have_attribute("title", exact_price(exact))
    current = page.locator('[data-symbol="AAPL"] [data-field="current_price"]')
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", current.inner_text())
    fill_price = page.locator("#recent-fills tr[data-execution-id] [data-field=price]").first
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", fill_price.inner_text())

    # The server's first paint says the same.
    fresh = open_page(viewport=DESKTOP)
    fresh.context.add_cookies(page.context.cookies())
    fresh.goto(f"{live.url}/portfolio/")
    served = fresh.locator('[data-symbol="AAPL"] [data-field="avg_entry_price"]')
    expect(served).to_have_text(f"${rounded:,}")
    expect(served).to_have_attribute("title", exact_price(exact))


def test_order_outcomes_show_as_toasts_and_in_the_ticket(open_page, live):
    page = open_page(viewport=DESKTOP)
    go_live(page, live)
    ticket = page.locator("#ticket-form")
    expect(ticket).to_have_attribute("data-ready", "true")

    # 600 shares fill 500 a tick in the simulated venue: a partial fill at once, then the fill
    # at the symbol's next price move. The demo's buying power buys 600 of a cheap stock it
    # does not hold yet (INTC, about $24).
    symbol = NOT_HELD[-1]
    page.fill("#ticket-symbol", symbol)
    page.fill("#ticket-qty", "600")
    ticket.locator("button[type=submit]").click()
    result = page.locator("[data-ticket-result]")
    partial = page.locator('[data-toast][data-toast-kind="partial_fill"]')
    expect(partial).to_contain_text(
        f"Partially filled: bought 500 of 600 {symbol} @ $", timeout=5_000
    )
    # The random walk leaves a symbol still for several seconds about one time in eight: move
    # it, as the market would (a lower price, so the order's hold still covers the rest).
    nudge(admin_session(live), symbol, "-0.5")
    filled = page.locator('[data-toast][data-toast-kind="fill"]')
    bought = rf"Bought 600 {symbol} @ \$\d+\.\d\d"
    expect(filled).to_have_text(re.compile(bought), timeout=5_000)
    expect(result).to_have_text(re.compile(rf"^{bought}$"))
    screenshot(page, "16-order-filled-toast")
    page.wait_for_function(
        "(start) => portfolioLive.announcer.spoken.some((t) => t.startsWith(start))",
        arg=f"Order filled: Bought 600 {symbol} at $",
        timeout=15_000,
    )
    # Toasts go away by themselves.
    expect(filled).to_have_count(0, timeout=8_000)


def test_positions_table_layout_and_section_notes(open_page, live):
    page = open_page(viewport=DESKTOP)
    go_live(page, live)
    header = page.locator("#positions thead th.feed-col")
    expect(header).to_have_text(re.compile("feed", re.I))
    expect(page.locator('#positions td.feed[data-feed="live"]').first).to_be_visible(timeout=10_000)

    # The badge column keeps its width whatever the badges say: the table never shifts.
    lefts = "() => [...document.querySelectorAll('#positions thead th')].map((th) => th.offsetLeft)"
    label_all = (
        "(t) => document.querySelectorAll('[data-feed-badge]').forEach((b) => (b.textContent = t))"
    )
    before = page.evaluate(lefts)
    for label in ("", "Delayed", "Live"):
        page.evaluate(label_all, label)
        assert page.evaluate(lefts) == before, label

    # Connected: each section says "Live", however long it has been quiet.
    for section in ("account", "positions", "orders", "fills"):
        expect(page.locator(f'[data-updated-for="{section}"]')).to_have_text("Live")
