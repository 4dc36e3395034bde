import assert from "node:assert/strict";
import { test } from "node:test";

import { PortfolioStore } from "../../static/portfolio/js/store.js";
import { account, batch, event, fill, order, position, restSnapshot, snapshotFrame } from "./helpers.mjs";

function makeStore(snapshot = restSnapshot()) {
  let time = 1_000_000;
  const clock = { now: () => time, advance: (ms) => (time += ms) };
  const store = new PortfolioStore({ now: clock.now });
  store.hydrate(snapshot);
  const changes = [];
  store.subscribe((change) => changes.push(change));
  return { store, changes, clock };
}

test("hydrate takes the server-rendered snapshot and its seq without emitting", () => {
  const { store, changes } = makeStore(
    restSnapshot({ positions: [position("AAPL")], orders: [order("o1")], fills: [fill("e1")], seq: { positions: 5, orders: 3, account: 7 } }),
  );
  assert.deepEqual([...store.positions.keys()], ["AAPL"]);
  assert.deepEqual([...store.orders.keys()], ["o1"]);
  assert.equal(store.fills.length, 1);
  assert.deepEqual(store.seq, { positions: 5, orders: 3, account: 7 });
  assert.equal(store.account.trading_day, "2026-11-25");
  assert.equal(changes.length, 0);
});

test("merge by symbol: only the changed row and fields are reported, with their direction", () => {
  const { store, changes } = makeStore(restSnapshot({ positions: [position("AAPL"), position("MSFT")] }));
  const result = store.applyEvent(
    event("position_update", 1, position("AAPL", { current_price: "111.00000000", market_value: "1110.00", unrealized_pl: "110.00" })),
  );
  assert.equal(result, "applied");
  const change = changes.at(-1);
  assert.deepEqual([...change.positions.keys()], ["AAPL"]); // MSFT is not re-rendered
  assert.deepEqual(change.positions.get("AAPL").fields, { current_price: "up", market_value: "up", unrealized_pl: "up" });
  assert.equal(change.positions.get("AAPL").isNew, false);
  store.applyEvent(event("position_update", 2, position("AAPL", { current_price: "109.00000000", market_value: "1110.00", unrealized_pl: "110.00" })));
  assert.deepEqual(changes.at(-1).positions.get("AAPL").fields, { current_price: "down" });
});

test("an identical update re-renders nothing", () => {
  const { store, changes } = makeStore(restSnapshot({ positions: [position("AAPL")] }));
  store.applyEvent(event("position_update", 1, position("AAPL")));
  assert.equal(changes.at(-1).positions.size, 0);
  assert.equal(store.seq.positions, 1);
});

test("new positions are added; flat or zero-quantity positions are removed", () => {
  const { store, changes } = makeStore(restSnapshot({ positions: [position("AAPL"), position("MSFT")] }));
  store.applyEvent(event("position_update", 1, position("NVDA")));
  assert.equal(changes.at(-1).positions.get("NVDA").isNew, true);
  store.applyEvent(event("position_update", 2, position("AAPL", { side: "flat", qty: "0.000000" })));
  store.applyEvent(event("position_update", 3, position("MSFT", { qty: "0" })));
  assert.deepEqual([...store.positions.keys()], ["NVDA"]);
  assert.deepEqual([...changes.at(-2).removedPositions], ["AAPL"]);
  assert.deepEqual([...changes.at(-1).removedPositions], ["MSFT"]);
});

test("orders merge by id; new -> filled leaves the open orders and reports the transition", () => {
  const { store, changes } = makeStore(restSnapshot());
  store.applyEvent(event("order_update", 1, order("o1", { status: "pending_new" })));
  assert.equal(changes.at(-1).orders.get("o1").isNew, true);
  store.applyEvent(event("order_update", 2, order("o1", { status: "new" })));
  assert.deepEqual(changes.at(-1).orders.get("o1").fields, { status: "changed" });
  store.applyEvent(event("trade_executed", 3, fill("e1", { order_id: "o1" })));
  assert.equal(changes.at(-1).fills.length, 1);
  store.applyEvent(event("order_update", 4, order("o1", { status: "filled", filled_qty: "1.000000", filled_avg_price: "110.00000000" })));
  const change = changes.at(-1);
  assert.deepEqual([...change.removedOrders], ["o1"]);
  assert.deepEqual(
    change.transitions.map((t) => [t.id, t.from, t.to]),
    [["o1", "new", "filled"]],
  );
  assert.equal(store.orders.size, 0);
  // The order the POST returned arrives late: it must not come back.
  assert.equal(store.addPlacedOrder(order("o1", { status: "pending_new" })), null);
  assert.equal(store.orders.size, 0);
});

test("the POST response shows a placed order at once, and the stream takes over", () => {
  const { store, changes } = makeStore();
  store.addPlacedOrder(order("o2", { status: "pending_new" }));
  assert.equal(changes.at(-1).orders.get("o2").isNew, true);
  store.applyEvent(event("order_update", 1, order("o2", { status: "pending_new" })));
  assert.equal(changes.at(-1).orders.size, 0); // same row, nothing re-rendered
});

test("fills are deduplicated by execution id, newest first, at most 20", () => {
  const { store } = makeStore();
  for (let i = 0; i < 25; i += 1) {
    const at = new Date(Date.UTC(2026, 10, 25, 10, 0, i)).toISOString();
    store.applyEvent(event("trade_executed", i + 1, fill(`e${i}`, { executed_at: at })));
  }
  store.applyEvent(event("trade_executed", 26, fill("e24", { executed_at: "2026-11-25T10:00:24.000Z" })));
  assert.equal(store.fills.length, 20);
  assert.equal(store.fills[0].execution_id, "e24");
  assert.equal(store.fills[19].execution_id, "e5");
});

test("account updates merge, keeping the REST-only fields", () => {
  const { store, changes } = makeStore();
  store.applyEvent(event("account_update", 1, account({ equity: "2050.00", day_pl: "50.00", day_pl_pct: "0.025000" })));
  assert.deepEqual(changes.at(-1).account.fields, { equity: "down", day_pl: "down", day_pl_pct: "down" });
  assert.equal(store.account.trading_day, "2026-11-25");
});

test("a seq gap marks the channel for a fresh snapshot and drops its events until then", () => {
  const { store } = makeStore(restSnapshot({ positions: [position("AAPL")], seq: { positions: 10 } }));
  assert.equal(store.applyEvent(event("position_update", 10, position("AAPL"))), "duplicate");
  assert.equal(store.applyEvent(event("position_update", 12, position("AAPL", { qty: "11.000000" }))), "gap");
  assert.equal(store.applyEvent(event("position_update", 13, position("AAPL", { qty: "12.000000" }))), "resyncing");
  assert.equal(store.positions.get("AAPL").qty, "10.000000");
  // Other channels carry on.
  assert.equal(store.applyEvent(event("account_update", 1, account())), "applied");
  store.applySnapshotFrame(snapshotFrame("positions", 13, { positions: [position("AAPL", { qty: "12.000000" }), position("TSLA")] }));
  assert.equal(store.seq.positions, 13);
  assert.deepEqual([...store.positions.keys()].sort(), ["AAPL", "TSLA"]);
  assert.equal(store.applyEvent(event("position_update", 14, position("TSLA", { qty: "1.000000" }))), "applied");
});

test("a batch overlapping what the store has applies only the newer events", () => {
  const { store } = makeStore(restSnapshot({ positions: [position("AAPL"), position("JPM")], seq: { positions: 16 } }));
  const result = store.applyEvent(
    batch("positions", 15, 18, [
      event("position_update", 16, position("JPM", { current_price: "1.00000000" })), // already in the snapshot
      event("position_update", 18, position("AAPL", { current_price: "120.00000000" })),
    ]),
  );
  assert.equal(result, "applied");
  assert.equal(store.positions.get("JPM").current_price, "110.00000000");
  assert.equal(store.positions.get("AAPL").current_price, "120.00000000");
  assert.equal(store.seq.positions, 18);
  assert.equal(store.applyEvent(batch("positions", 20, 21, [event("position_update", 21, position("JPM"))])), "gap");
});

test("a REST snapshot replaces a channel only when it is at least as new as the store", () => {
  const { store, changes } = makeStore(restSnapshot({ positions: [position("AAPL")], seq: { positions: 5, orders: 5, account: 5 } }));
  store.applyEvent(event("position_update", 6, position("AAPL", { qty: "20.000000" })));
  // A poll that was answered before event 6: its positions are older and are not taken.
  store.applyRestSnapshot(restSnapshot({ positions: [position("AAPL")], orders: [order("o9")], seq: { positions: 5, orders: 6, account: 5 } }));
  assert.equal(store.positions.get("AAPL").qty, "20.000000");
  assert.deepEqual([...store.orders.keys()], ["o9"]);
  // A newer one is taken: rows it lacks are gone (closed while we were away).
  store.applyRestSnapshot(restSnapshot({ positions: [position("MSFT")], seq: { positions: 9, orders: 6, account: 5 } }));
  assert.deepEqual([...store.positions.keys()], ["MSFT"]);
  assert.deepEqual([...changes.at(-1).removedPositions], ["AAPL"]);
  assert.equal(store.seq.positions, 9);
});

test("connected, reconnected and refetched stores end identical (snapshot consistency)", () => {
  const start = restSnapshot({ positions: [position("AAPL")], orders: [order("o1")], seq: { positions: 1, orders: 1, account: 1 } });
  const events = [
    event("order_update", 2, order("o1", { status: "filled", filled_qty: "1.000000" })),
    event("trade_executed", 3, fill("e1", { order_id: "o1" })),
    event("position_update", 2, position("AAPL", { qty: "11.000000" })),
    event("position_update", 3, position("NVDA")),
    event("account_update", 2, account({ cash: "890.00" })),
  ];
  const end = restSnapshot({
    positions: [position("AAPL", { qty: "11.000000" }), position("NVDA")],
    fills: [fill("e1", { order_id: "o1" })],
    acct: account({ cash: "890.00" }),
    seq: { positions: 3, orders: 3, account: 2 },
  });
  const connected = makeStore(start).store;
  for (const e of events) connected.applyEvent(e);
  const reconnected = makeStore(start).store;
  reconnected.applyEvent(events[2]);
  reconnected.applySnapshotFrame(snapshotFrame("positions", 3, { positions: end.positions }));
  reconnected.applySnapshotFrame(snapshotFrame("orders", 3, { orders: [], fills: end.recent_fills }));
  reconnected.applySnapshotFrame(snapshotFrame("account", 2, { account: end.account }));
  const refetched = makeStore(start).store;
  refetched.applyRestSnapshot(end);
  const view = (s) => ({
    positions: s.sortedPositions(),
    orders: s.sortedOrders(),
    fills: s.fills.map((f) => f.execution_id),
    cash: s.account.cash,
    seq: s.seq,
  });
  assert.deepEqual(view(reconnected), view(connected));
  assert.deepEqual(view(refetched), view(connected));
});

test("per-symbol and per-section staleness", () => {
  const { store, clock } = makeStore(restSnapshot({ positions: [position("AAPL"), position("MSFT")] }));
  clock.advance(10_000);
  store.applyEvent(event("position_update", 1, position("AAPL", { current_price: "111.00000000" })));
  assert.equal(store.priceFeed("AAPL"), "live");
  assert.equal(store.priceFeed("MSFT"), "unknown");
  assert.equal(store.symbolAge("AAPL"), 0);
  assert.equal(store.symbolAge("MSFT"), 10_000);
  clock.advance(6_000);
  assert.equal(store.priceFeed("AAPL"), "fading");
  clock.advance(25_000);
  assert.equal(store.priceFeed("AAPL"), "delayed");
  assert.equal(store.priceFeed("MSFT"), "delayed");
  assert.equal(store.sectionAge("positions"), 31_000);
  assert.equal(store.sectionAge("orders"), 41_000);
  assert.deepEqual(store.clock.quiet(clock.now() + 20_000), ["account", "orders", "fills"]);
});

test("a socket snapshot is authoritative, even with a lower seq (a reset server)", () => {
  const { store } = makeStore(restSnapshot({ positions: [position("AAPL")], seq: { positions: 50 } }));
  store.applySnapshotFrame(snapshotFrame("positions", 2, { positions: [position("MSFT")] }));
  assert.deepEqual([...store.positions.keys()], ["MSFT"]);
  assert.equal(store.seq.positions, 2);
  assert.equal(store.applyEvent(event("position_update", 3, position("MSFT", { qty: "1.000000" }))), "applied");
});

test("without a live socket the REST snapshot is the truth, even with a lower seq", () => {
  const { store } = makeStore(restSnapshot({ positions: [position("AAPL")], seq: { positions: 50, orders: 9, account: 9 } }));
  store.applyRestSnapshot(restSnapshot({ positions: [position("MSFT")], seq: { positions: 3, orders: 9, account: 9 } }), {
    authoritative: true,
  });
  assert.deepEqual([...store.positions.keys()], ["MSFT"]);
  assert.equal(store.seq.positions, 3);
});
