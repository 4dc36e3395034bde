import assert from "node:assert/strict";
import { test } from "node:test";

import { validateFrame } from "../../static/portfolio/js/validate.js";
import { account, batch, event, fill, order, position, snapshotFrame } from "./helpers.mjs";

const good = [
  { type: "subscribed", channels: ["positions"] },
  { type: "ping", ts: "2026-11-25T22:27:34Z" },
  { type: "pong", ts: "2026-11-25T22:27:34Z" },
  { type: "error", code: "rate_limited", message: "slow down" },
  snapshotFrame("positions", 0, { positions: [position("AAPL")] }),
  snapshotFrame("orders", 3, { orders: [order("o1", { type: "limit", limit_price: "160.00000000" })], fills: [fill("e1")] }),
  snapshotFrame("account", 3, { account: account() }),
  event("position_update", 1, position("AAPL", { side: "flat", qty: "0.000000" })),
  event("order_update", 2, order("o1")),
  event("trade_executed", 3, fill("e1")),
  event("account_update", 4, account()),
  batch("positions", 5, 7, [event("position_update", 5, position("AAPL")), event("position_update", 7, position("MSFT"))]),
];

const bad = [
  ["not json", "{"],
  ["no type", { channel: "positions" }],
  ["array", [1, 2]],
  ["float money", event("position_update", 1, position("AAPL", { market_value: 1100.5 }))],
  ["exponent money", event("account_update", 1, account({ cash: "1e3" }))],
  ["wrong channel", { ...event("order_update", 1, order("o1")), channel: "positions" }],
  ["seq zero", event("order_update", 0, order("o1"))],
  ["seq string", { ...event("order_update", 1, order("o1")), seq: "1" }],
  ["bad ts", { ...event("order_update", 1, order("o1")), ts: "yesterday" }],
  ["bad side", event("order_update", 1, order("o1", { side: "hold" }))],
  ["missing symbol", event("position_update", 1, { ...position("AAPL"), symbol: "" })],
  ["batch range", batch("positions", 7, 5, [event("position_update", 5, position("AAPL"))])],
  ["batch empty", batch("positions", 5, 7, [])],
  ["batch foreign event", batch("positions", 5, 7, [event("account_update", 6, account())])],
  ["batch event outside range", batch("positions", 5, 7, [event("position_update", 9, position("AAPL"))])],
  ["snapshot without fills", snapshotFrame("orders", 1, { orders: [] })],
  ["snapshot of unknown channel", snapshotFrame("news", 1, {})],
  ["error without code", { type: "error", message: "x" }],
];

test("well-formed frames pass", () => {
  for (const frame of good) {
    const result = validateFrame(JSON.stringify(frame));
    assert.ok(result.ok, `${frame.type}: ${result.reason}`);
  }
});

test("malformed frames are rejected with a reason", () => {
  for (const [name, frame] of bad) {
    const result = validateFrame(typeof frame === "string" ? frame : JSON.stringify(frame));
    assert.equal(result.ok, false, name);
    assert.equal(result.unknown, false, name);
    assert.ok(result.reason, name);
  }
});

test("unknown frame types are flagged as such (ignored, not errors)", () => {
  const result = validateFrame(JSON.stringify({ type: "resync_required", channel: "positions" }));
  assert.equal(result.ok, false);
  assert.equal(result.unknown, true);
});
