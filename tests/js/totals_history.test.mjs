// The trader's figures: the exact totals (unrealized P&L summed, fill and order values), the
// order history's merging of pages and live outcomes, and the day chart's series (the server's
// history continued live, merged again after a reconnect) and time axis.
import assert from "node:assert/strict";
import { test } from "node:test";

import { OrderHistory, OrderHistoryLoader, compareOrders, sameOriginPath } from "../../static/portfolio/js/order_history.js";
import { BUCKET_MS, clockLabel, historyPoints, IntradaySeries, mergeSeries, timeTicks } from "../../static/portfolio/js/sparkline.js";
import { PortfolioStore } from "../../static/portfolio/js/store.js";
import { orderValue, sumDecimals, totalUnrealizedPl, trimDecimal, valueOf } from "../../static/portfolio/js/totals.js";
import { parseDecimal, decimalToString } from "../../static/portfolio/js/decimal.js";
import { event, order, position, quietLogger, restSnapshot } from "./helpers.mjs";

test("total unrealized P&L: the positions' unrealized_pl summed exactly, never through floats", () => {
  const rows = [position("A", { unrealized_pl: "0.10" }), position("B", { unrealized_pl: "0.20" })];
  assert.equal(totalUnrealizedPl(rows), "0.30"); // 0.1 + 0.2 is 0.30000000000000004 in floats
  assert.equal(totalUnrealizedPl([]), "0.00");
  const mixed = ["1234.56", "-2000.01", "0.45", "-0.00"].map((pl, i) => position(`S${i}`, { unrealized_pl: pl }));
  assert.equal(totalUnrealizedPl(mixed), "-765.00");
  // Beyond 2^53 cents, still exact.
  const big = [position("X", { unrealized_pl: "90071992547409.93" }), position("Y", { unrealized_pl: "0.01" })];
  assert.equal(totalUnrealizedPl(big), "90071992547409.94");
  // A map's values (the store keeps positions by symbol).
  assert.equal(totalUnrealizedPl(new Map([["A", rows[0]], ["B", rows[1]]]).values()), "0.30");
  assert.equal(sumDecimals(["1.00", "oops"]), null);
});

test("total unrealized P&L follows the store through ticks, a new position and a close", () => {
  const store = new PortfolioStore({ now: () => 1 });
  store.hydrate(restSnapshot({ positions: [position("AAPL", { unrealized_pl: "100.00" }), position("MSFT", { unrealized_pl: "-33.33" })] }));
  assert.equal(totalUnrealizedPl(store.positions.values()), "66.67");
  store.applyEvent(event("position_update", 1, position("AAPL", { unrealized_pl: "100.01" })));
  store.applyEvent(event("position_update", 2, position("NVDA", { unrealized_pl: "0.005" })));
  assert.equal(totalUnrealizedPl(store.positions.values()), "66.685");
  store.applyEvent(event("position_update", 3, position("MSFT", { qty: "0", side: "flat", unrealized_pl: "0.00" })));
  assert.equal(totalUnrealizedPl(store.positions.values()), "100.015");
});

test("values: qty x price exactly, trailing zeros dropped but the cents kept", () => {
  assert.equal(valueOf("10.000000", "214.60310000"), "2146.031");
  assert.equal(valueOf("3", "0.1"), "0.30");
  assert.equal(valueOf("0.333333", "3.00000000"), "0.999999");
  assert.equal(valueOf("600.000000", "119.99000000"), "71994.00");
  assert.equal(valueOf(null, "1"), null);
  assert.equal(decimalToString(trimDecimal(parseDecimal("12.3400"))), "12.34");
  assert.equal(decimalToString(trimDecimal(parseDecimal("5"))), "5.00");
  assert.equal(orderValue(order("o1", { status: "filled", filled_qty: "2.000000", filled_avg_price: "100.12500000" })), "200.25");
  assert.equal(orderValue(order("o2", { status: "canceled", filled_qty: "0.000000", filled_avg_price: null })), null);
});

const T0 = Date.parse("2026-11-25T15:00:00Z");
const at = (minutes) => new Date(T0 + minutes * 60_000).toISOString();

function finished(id, minutes, overrides = {}) {
  return order(id, { status: "filled", filled_qty: "1.000000", filled_avg_price: "10.00000000", submitted_at: at(minutes), updated_at: at(minutes), ...overrides });
}

test("order history: pages merged by id, newest first; live outcomes join at once", () => {
  const history = new OrderHistory();
  history.addPage({ count: 3, next: "http://testserver/api/orders/?page=2&status=closed", results: [finished("c", 3), finished("b", 2)] });
  assert.deepEqual(history.sorted().map((o) => o.id), ["c", "b"]);
  assert.equal(history.count, 3);
  // An order that ends on the socket: in at once, on top, counted.
  assert.equal(history.upsert(finished("d", 4, { status: "rejected", filled_qty: "0.000000", filled_avg_price: null, reject_reason: "Insufficient buying power." })), "added");
  assert.equal(history.count, 4);
  assert.deepEqual(history.sorted().map((o) => o.id), ["d", "c", "b"]);
  // Open orders never enter; a repeat changes nothing; an older copy never wins.
  assert.equal(history.upsert(order("e", { status: "new" })), null);
  assert.equal(history.upsert(order("f", { status: "partially_filled" })), null);
  assert.equal(history.upsert(finished("d", 4, { status: "rejected", filled_qty: "0.000000", filled_avg_price: null, reject_reason: "Insufficient buying power." })), null);
  assert.equal(history.upsert(finished("c", 3, { updated_at: at(1) })), null);
  assert.equal(history.upsert(finished("c", 3, { status: "canceled", updated_at: at(5) })), "updated");
  assert.equal(history.orders.get("c").status, "canceled");
  assert.equal(history.count, 4);
  // Page 2 after the new order shifted the pages: a repeat, no gap, no duplicate row.
  history.addPage({ count: 4, next: null, results: [finished("b", 2), finished("a", 1)] });
  assert.deepEqual(history.sorted().map((o) => o.id), ["d", "c", "b", "a"]);
  assert.equal(history.next, null);
  // The newest page again (a reconnect) does not bring back a `next` already followed.
  history.addPage({ count: 5, next: "http://testserver/api/orders/?page=2&status=closed", results: [finished("g", 6), finished("d", 4)] }, { first: true });
  assert.equal(history.next, null);
  assert.equal(history.count, 5);
  assert.deepEqual(history.sorted().map((o) => o.id), ["g", "d", "c", "b", "a"]);
});

test("order history: the newest page again, before any older page was loaded, takes its next", () => {
  const history = new OrderHistory();
  history.addPage({ count: 1, next: null, results: [finished("a", 1)] });
  history.addPage({ count: 51, next: "/api/orders/?page=2&status=closed", results: [finished("b", 2)] }, { first: true });
  assert.equal(history.next, "/api/orders/?page=2&status=closed");
  // Same time: the API's tie-break, id descending.
  assert.deepEqual([finished("x", 1), finished("y", 1)].sort(compareOrders).map((o) => o.id), ["y", "x"]);
});

test("order history: a terminal transition from the stream carries the whole order", () => {
  const store = new PortfolioStore({ now: () => 1 });
  store.hydrate(restSnapshot({ orders: [order("o1", { status: "new" })] }));
  const history = new OrderHistory();
  history.addPage({ count: 0, next: null, results: [] });
  store.subscribe((change) => {
    for (const transition of change.transitions) history.upsert(transition.order);
  });
  store.applyEvent(event("order_update", 1, order("o1", { status: "partially_filled", filled_qty: "0.500000", filled_avg_price: "10.00000000" })));
  assert.equal(history.orders.size, 0); // still open
  store.applyEvent(event("order_update", 2, order("o1", { status: "filled", filled_qty: "1.000000", filled_avg_price: "10.50000000" })));
  assert.deepEqual([...history.orders.keys()], ["o1"]);
  assert.equal(orderValue(history.orders.get("o1")), "10.50");
  assert.equal(history.count, 1);
});

test("order history loader: More follows the API's next on this origin; a failure says so", async () => {
  const history = new OrderHistory();
  history.addPage({ count: 2, next: "http://internal:8000/api/orders/?page=2&status=closed", results: [finished("b", 2)] });
  const renders = [];
  const view = { render: (h) => renders.push(h.sorted().map((o) => o.id)), renderMore: (h, loading, error = "") => renders.push({ loading, error }) };
  const asked = [];
  let answer = { ok: true, status: 200, data: { count: 2, next: null, previous: "x", results: [finished("a", 1)] } };
  const loader = new OrderHistoryLoader({
    history,
    view,
    firstUrl: "/api/orders/?status=closed",
    fetchPage: async (path) => {
      asked.push(path);
      return answer;
    },
    logger: quietLogger(),
  });
  assert.equal(await loader.more(), true);
  assert.deepEqual(asked, ["/api/orders/?page=2&status=closed"]);
  assert.deepEqual(renders.at(-1), ["b", "a"]);
  assert.equal(await loader.more(), false); // no next: nothing asked
  assert.equal(asked.length, 1);
  answer = { ok: false, status: 503, data: null };
  assert.equal(await loader.refresh(), false);
  assert.equal(asked.at(-1), "/api/orders/?status=closed");
  assert.equal(sameOriginPath("https://a.example/api/orders/?page=3&status=closed"), "/api/orders/?page=3&status=closed");
  assert.equal(sameOriginPath(null), null);
  // note(): an outcome joins without any fetch.
  assert.equal(loader.note(finished("c", 3, { status: "canceled" })), "added");
  assert.equal(asked.length, 2);
  assert.deepEqual(renders.at(-1), ["c", "b", "a"]);
});

function apiHistory(points, base = "100000.00") {
  return {
    timestamp: points.map(([ms]) => ms / 1000),
    equity: points.map(([, equity]) => equity),
    profit_loss: points.map(() => "0.00"),
    profit_loss_pct: points.map(() => "0.000000"),
    base_value: base,
    timeframe: "1Min",
  };
}

test("day chart series: the server's history, continued live a point a minute", () => {
  const server = [[T0, "100000.00"], [T0 + 60_000, "100010.00"], [T0 + 125_000, "100012.50"]];
  assert.deepEqual(historyPoints(apiHistory(server)), server);
  assert.deepEqual(historyPoints({ timestamp: [1, "x", 3], equity: ["1.00", "2.00", 3] }), [[1000, "1.00"]]);
  let clock = T0 + 125_000 + 40; // the client's clock: 40 ms behind the server's answer
  const series = new IntradaySeries({ now: () => clock });
  series.add("99999.00"); // the page's first paint, before the history arrives
  assert.equal(series.source, "live");
  assert.equal(series.applyHistory(apiHistory(server), clock), true);
  assert.equal(series.source, "server");
  assert.equal(series.skew, -40);
  assert.deepEqual(series.points, server); // the first paint's point: the server's answer is newer
  // Ticks within the server's current minute move its last point; a new minute adds one.
  clock += 5_000;
  series.add("100013.00");
  assert.equal(series.points.length, 3);
  assert.deepEqual(series.points.at(-1), [T0 + 130_000, "100013.00"]);
  clock += 60_000;
  series.add("100020.00");
  assert.equal(series.points.length, 4);
  assert.equal(series.add("oops"), false);
  assert.equal(series.add("1.00", T0), false); // older than the last point
  assert.equal(Math.floor(series.points.at(-1)[0] / BUCKET_MS) - Math.floor(series.points.at(-2)[0] / BUCKET_MS), 1);
});

test("day chart series: after a reconnect the server's history replaces what it covers", () => {
  const series = new IntradaySeries({ now: () => T0 });
  series.applyHistory(apiHistory([[T0 - 60_000, "100.00"], [T0, "101.00"]]), T0);
  series.add("102.00", T0 + 70_000);
  series.add("103.00", T0 + 200_000); // the page was offline from here on...
  series.add("109.00", T0 + 400_000);
  // ...and the server recorded every minute meanwhile; its now is at T0 + 300 s.
  const server = [[T0 - 60_000, "100.00"], [T0, "101.00"], [T0 + 60_000, "102.00"], [T0 + 120_000, "104.00"], [T0 + 180_000, "105.00"], [T0 + 240_000, "106.00"], [T0 + 300_000, "107.00"]];
  series.applyHistory(apiHistory(server), T0 + 300_000);
  assert.deepEqual(series.points, [...server, [T0 + 400_000, "109.00"]]);
  assert.deepEqual(mergeSeries([], [[1, "1.00"]]), [[1, "1.00"]]);
  series.reset();
  assert.deepEqual([series.points, series.source, series.fetchedAt], [[], "none", null]);
  // An empty answer keeps what the page has.
  series.add("5.00", T0);
  assert.equal(series.applyHistory(apiHistory([]), T0), false);
  assert.equal(series.points.length, 1);
});

test("day chart axis: a few round UTC times within the day's span", () => {
  const open = Date.parse("2026-11-25T13:30:00Z");
  const ticks = timeTicks(open + 7 * 60_000, open + 6.5 * 3_600_000, 5);
  assert.ok(ticks.length >= 2 && ticks.length <= 5, ticks.length);
  assert.deepEqual(ticks.map(clockLabel), ["14:00", "16:00", "18:00", "20:00"]); // hourly would be 7
  assert.deepEqual(timeTicks(open, open + 30 * 60_000, 4).map(clockLabel), ["13:30", "13:40", "13:50", "14:00"]);
  assert.deepEqual(timeTicks(open + 10_000, open + 50_000).map(clockLabel), ["13:30"]); // under a minute: one label
  assert.deepEqual(timeTicks(open + 10_000, open + 100_000).map(clockLabel), ["13:30", "13:31"]);
  assert.deepEqual(timeTicks(open, open), [open]);
  assert.equal(clockLabel(Date.parse("2026-11-25T04:05:59Z")), "04:05");
});
