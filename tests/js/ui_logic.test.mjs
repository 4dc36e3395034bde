// The testable halves of the UI modules: announcement pacing, the status indicator's states,
// the order ticket's validation, and the day chart's geometry.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Announcer } from "../../static/portfolio/js/announcer.js";
import { sparklineGeometry } from "../../static/portfolio/js/sparkline.js";
import { feedBadge, sectionNote } from "../../static/portfolio/js/staleness.js";
import { connectionView, LABELS, OFFLINE_AFTER_MS } from "../../static/portfolio/js/status.js";
import { orderToast, Toaster, TOAST_KINDS } from "../../static/portfolio/js/toasts.js";
import { apiErrors, estimateValue, validateTicket } from "../../static/portfolio/js/ticket.js";
import { FakeTimers, order } from "./helpers.mjs";

test("announcements: events paced 4 s apart, P&L at most every 30 s and only the latest", () => {
  const timers = new FakeTimers();
  const region = { textContent: "" };
  const announcer = new Announcer({ region, timers, now: timers.now });
  announcer.event("Order filled: Bought 1 AAPL at $228.42.");
  announcer.pl("Day P&L +$1.00");
  announcer.pl("Day P&L +$2.00");
  announcer.event("Order canceled: buy 10 GOOGL.");
  timers.advance(100);
  assert.equal(region.textContent, "Order filled: Bought 1 AAPL at $228.42.");
  timers.advance(4_000);
  assert.equal(region.textContent, "Order canceled: buy 10 GOOGL.");
  timers.advance(4_000);
  assert.equal(region.textContent, "Day P&L +$2.00"); // +$1.00 was superseded
  for (let i = 3; i < 40; i += 1) {
    announcer.pl(`Day P&L +$${i}.00`);
    timers.advance(1_000);
  }
  const pl = announcer.spoken.filter((text) => text.startsWith("Day P&L"));
  assert.deepEqual(pl, ["Day P&L +$2.00", "Day P&L +$32.00"]); // one per 30 s
});

test("connection status: three states with the issue's labels", () => {
  const base = { now: 100_000, lastSyncAt: 99_000, pollMs: 30_000 };
  const live = connectionView({ ...base, state: "live" });
  assert.deepEqual([live.status, live.label], ["connected", LABELS.connected]);
  assert.equal(LABELS.connected, "Connected to live updates");
  const first = connectionView({ ...base, state: "connecting", info: { failures: 0 } });
  assert.deepEqual([first.status, first.label], ["connecting", "Connecting..."]);
  const blip = connectionView({ ...base, state: "waiting", info: { failures: 1, downSince: 99_000, everLive: true, retryAt: 101_000 } });
  assert.deepEqual([blip.status, blip.label], ["connecting", "Reconnecting..."]);
  assert.match(blip.detail, /Next attempt in 1s/);
  const long = connectionView({ ...base, state: "waiting", info: { failures: 1, downSince: 80_000, everLive: true } });
  assert.deepEqual([long.status, long.label], ["disconnected", "Offline - using cached data"]);
  // Red after 15 s of failed reconnects, however many attempts failed meanwhile.
  const many = connectionView({ ...base, state: "connecting", info: { failures: 3, downSince: 99_450, everLive: true } });
  assert.deepEqual([many.status, many.label], ["connecting", "Reconnecting..."]);
  const lots = connectionView({ ...base, state: "waiting", info: { failures: 9, downSince: 85_001, everLive: true } });
  assert.equal(lots.status, "connecting");
  const fifteen = connectionView({ ...base, state: "waiting", info: { failures: 9, downSince: 85_000, everLive: true } });
  assert.deepEqual([fifteen.status, fifteen.label], ["disconnected", "Offline - using cached data"]);
  assert.equal(OFFLINE_AFTER_MS, 15_000);
  const offline = connectionView({ ...base, state: "waiting", online: false, info: { failures: 1, downSince: 99_900 } });
  assert.equal(offline.status, "disconnected");
  assert.match(offline.detail, /device is offline/);
  const off = connectionView({ ...base, state: "disabled", realtime: false });
  assert.deepEqual([off.status, off.label], ["disconnected", "Live updates off"]);
  assert.match(off.detail, /every 30 s/);
});

test("order ticket: inline validation before anything is sent", () => {
  const ok = validateTicket({ side: "buy", type: "market", symbol: " aapl ", qty: "10", limit_price: "" });
  assert.deepEqual(ok.errors, {});
  assert.deepEqual(ok.payload, { symbol: "AAPL", side: "buy", type: "market", qty: "10", time_in_force: "day" });
  const limit = validateTicket({ side: "sell", type: "limit", symbol: "MSFT", qty: "0.5", limit_price: "401.25" });
  assert.equal(limit.payload.limit_price, "401.25");
  const empty = validateTicket({ side: "buy", type: "limit", symbol: "", qty: "", limit_price: "" });
  assert.deepEqual(Object.keys(empty.errors).sort(), ["limit_price", "qty", "symbol"]);
  assert.equal(empty.payload, null);
  assert.equal(empty.errors.limit_price, "A limit order needs a limit price.");
  assert.equal(validateTicket({ side: "buy", type: "market", symbol: "AAPL", qty: "0" }).errors.qty, "Quantity must be greater than zero.");
  assert.equal(validateTicket({ side: "buy", type: "market", symbol: "AAPL", qty: "-1" }).errors.qty, "Enter the quantity as a number, like 10 or 2.5.");
  assert.equal(validateTicket({ side: "buy", type: "market", symbol: "AAPL", qty: "1.1234567" }).errors.qty, "Use at most 6 decimal places.");
  assert.equal(validateTicket({ side: "buy", type: "limit", symbol: "AAPL", qty: "1", limit_price: "1.23456" }).errors.limit_price, "Use at most 4 decimal places.");
  assert.ok(validateTicket({ side: "buy", type: "market", symbol: "A APL", qty: "1" }).errors.symbol);
  // A market order never carries a limit price, even if one was typed before switching.
  assert.equal("limit_price" in validateTicket({ side: "buy", type: "market", symbol: "AAPL", qty: "1", limit_price: "5" }).payload, false);
});

test("order ticket: the API's errors land on their fields", () => {
  assert.deepEqual(apiErrors({ qty: ["Insufficient buying power."], symbol: ["Unknown symbol ZZZ."] }), {
    fields: { qty: "Insufficient buying power.", symbol: "Unknown symbol ZZZ." },
    form: null,
  });
  assert.deepEqual(apiErrors({ detail: "Malformed JSON." }), { fields: {}, form: "Malformed JSON." });
  assert.deepEqual(apiErrors({ time_in_force: ["bad"] }), { fields: {}, form: "time_in_force: bad" });
  assert.equal(estimateValue("3", "228.45000000"), "$685.35");
  assert.equal(estimateValue("0.5", "10.125"), "$5.06");
  assert.equal(estimateValue("x", "1"), null);
});

test("day chart geometry: drawn against the previous close, one point or many", () => {
  const points = [[0, "100.00"], [2_000, "102.00"], [60_001, "99.00"]];
  const geometry = sparklineGeometry(points, "100.00", { width: 100, height: 20, pad: 0 });
  assert.equal(geometry.line.split(" L").length, 3);
  assert.equal(geometry.last[0], 100);
  assert.equal(geometry.last[1], 20); // 99 is the lowest value
  assert.ok(geometry.baseY > 0 && geometry.baseY < 20);
  assert.equal(geometry.x(30_000.5), 50);
  assert.equal(sparklineGeometry([], "1"), null);
  assert.ok(sparklineGeometry([[0, "5"]], "5").line.startsWith("M"));
});

test("price badges: none live unless the socket streams", () => {
  for (const state of ["live", "fading", "delayed", "unknown"]) {
    assert.equal(feedBadge(state, "down").feed, "delayed", state);
    assert.equal(feedBadge(state, "down").text, "Delayed");
    assert.equal(feedBadge(state, "starting").feed, "unknown", state); // first connection: nothing known yet
  }
  assert.deepEqual(feedBadge("live", "live"), { feed: "live", text: "Live", fading: false });
  assert.deepEqual(feedBadge("fading", "live"), { feed: "live", text: "Live", fading: true });
  assert.equal(feedBadge("delayed", "live").feed, "delayed");
  assert.equal(feedBadge("unknown", "live").feed, "unknown");
});

test("section notes: 'Live' while streaming, however quiet; ages otherwise", () => {
  assert.equal(sectionNote(42_000, true, "42s ago").text, "Live");
  assert.equal(sectionNote(600_000, true, "10 min ago").quiet, false);
  assert.match(sectionNote(42_000, true, "42s ago").title, /42s ago/);
  assert.deepEqual([sectionNote(42_000, false, "42s ago").text, sectionNote(42_000, false, "42s ago").quiet], ["Updated 42s ago", false]);
  assert.equal(sectionNote(60_000, false, "1 min ago").quiet, true);
});

test("order outcome toasts: what they say and their kinds", () => {
  const filled = orderToast(order("o1", { status: "filled", qty: "3.000000", filled_qty: "3.000000", filled_avg_price: "229.14000000" }));
  assert.deepEqual([filled.kind, filled.text], ["fill", "Bought 3 AAPL @ $229.14"]);
  assert.equal(filled.spoken, "Order filled: Bought 3 AAPL at $229.14.");
  const sold = orderToast(order("o2", { side: "sell", status: "filled", filled_qty: "1.000000", filled_avg_price: "0.12345678" }));
  assert.equal(sold.text, "Sold 1 AAPL @ $0.1235");
  const partial = orderToast(order("o3", { status: "partially_filled", qty: "5.000000", filled_qty: "2.000000", filled_avg_price: "229.14" }));
  assert.deepEqual([partial.kind, partial.text], ["partial_fill", "Partially filled: bought 2 of 5 AAPL @ $229.14"]);
  const canceled = orderToast(order("o4", { status: "canceled", qty: "5.000000" }));
  assert.deepEqual([canceled.kind, canceled.text], ["canceled", "Canceled: buy 5 AAPL"]);
  const short = orderToast(order("o5", { status: "canceled", qty: "5.000000", filled_qty: "2.000000", reject_reason: "Canceled with 3 unfilled." }));
  assert.equal(short.text, "Canceled: buy 5 AAPL (2 filled)");
  assert.equal(short.detail, "Canceled with 3 unfilled.");
  const rejected = orderToast(order("o6", { status: "rejected", reject_reason: "Insufficient buying power." }));
  assert.deepEqual([rejected.kind, rejected.text, rejected.detail], ["rejected", "Rejected: insufficient buying power", "Buy 1 AAPL"]);
  assert.equal(orderToast(order("o7", { status: "rejected" })).text, "Rejected: buy 1 AAPL");
  assert.equal(orderToast(order("o8", { status: "expired" })).kind, "canceled");
  for (const status of ["pending_new", "new", "accepted", "pending_cancel"]) assert.equal(orderToast(order("o9", { status })), null);
  assert.deepEqual(TOAST_KINDS, ["fill", "partial_fill", "canceled", "rejected", "error"]);
});

test("toasts: hooks, one per outcome, announced, dismissed after a while", () => {
  const timers = new FakeTimers();
  const spoken = [];
  const made = [];
  const element = () => {
    const node = {
      dataset: {},
      children: [],
      className: "",
      isConnected: true,
      append: (...kids) => node.children.push(...kids),
      remove: () => {
        node.isConnected = false;
      },
      setAttribute: () => undefined,
      addEventListener: () => undefined,
    };
    made.push(node);
    return node;
  };
  const container = {
    ownerDocument: { createElement: element },
    toasts: [],
    append(node) {
      this.toasts.push(node);
    },
    querySelectorAll() {
      return this.toasts.filter((t) => t.isConnected);
    },
  };
  const toaster = new Toaster({ container, announce: (text) => spoken.push(text), timers });
  const toast = orderToast(order("o1", { status: "filled", filled_qty: "3.000000", filled_avg_price: "229.14" }));
  const shown = toaster.show(toast);
  assert.equal(toaster.show(toast), null); // the same outcome is told once
  assert.equal(shown.dataset.toast, "");
  assert.equal(shown.dataset.toastKind, "fill");
  assert.deepEqual(spoken, ["Order filled: Bought 3 AAPL at $229.14."]);
  toaster.show({ kind: "error", text: "Could not reach the server; try again." });
  assert.equal(spoken.at(-1), "Could not reach the server; try again.");
  timers.advance(6_300);
  assert.equal(shown.isConnected, false);
  assert.equal(container.querySelectorAll().length, 1); // errors stay longer
  timers.advance(4_000);
  assert.equal(container.querySelectorAll().length, 0);
});
