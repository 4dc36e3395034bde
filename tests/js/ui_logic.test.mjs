// The testable halves of the UI modules: announcement pacing, the status indicator's states,
// the order ticket's validation, and the sparkline's history and geometry.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Announcer } from "../../static/portfolio/js/announcer.js";
import { EquityHistory, SAMPLE_MS, sparklineGeometry } from "../../static/portfolio/js/sparkline.js";
import { connectionView, LABELS } from "../../static/portfolio/js/status.js";
import { apiErrors, estimateValue, validateTicket } from "../../static/portfolio/js/ticket.js";
import { FakeTimers } from "./helpers.mjs";

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
  const many = connectionView({ ...base, state: "connecting", info: { failures: 3, downSince: 99_500, everLive: true } });
  assert.equal(many.status, "disconnected");
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

test("sparkline: one point per 15 s kept for the day, drawn against the previous close", () => {
  const storage = new Map();
  const store = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v) };
  const history = new EquityHistory({ storage: store, key: "k" });
  history.add(0, "100.00");
  history.add(1_000, "101.00");
  history.add(2_000, "102.00"); // still within 15 s of the first: moves the last point
  assert.deepEqual(history.points, [[0, "100.00"], [2_000, "102.00"]]);
  history.add(SAMPLE_MS + 1, "99.00");
  assert.equal(history.points.length, 3);
  history.save();
  assert.deepEqual(new EquityHistory({ storage: store, key: "k" }).points, history.points);
  const geometry = sparklineGeometry(history.points, "100.00", { width: 100, height: 20, pad: 0 });
  assert.equal(geometry.line.split(" L").length, 3);
  assert.equal(geometry.last[0], 100);
  assert.equal(geometry.last[1], 20); // 99 is the lowest value
  assert.ok(geometry.baseY > 0 && geometry.baseY < 20);
  assert.equal(sparklineGeometry([], "1"), null);
  assert.ok(sparklineGeometry([[0, "5"]], "5").line.startsWith("M"));
});
