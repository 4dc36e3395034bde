import assert from "node:assert/strict";
import { test } from "node:test";

import { classifySeq } from "../../static/portfolio/js/seq.js";
import { freshness, priceFeedState, SectionClock } from "../../static/portfolio/js/staleness.js";

test("gap detection on single events", () => {
  assert.equal(classifySeq(10, { type: "position_update", seq: 11 }), "apply");
  assert.equal(classifySeq(10, { type: "position_update", seq: 10 }), "duplicate");
  assert.equal(classifySeq(10, { type: "position_update", seq: 3 }), "duplicate");
  assert.equal(classifySeq(10, { type: "position_update", seq: 12 }), "gap");
  assert.equal(classifySeq(0, { type: "order_update", seq: 1 }), "apply");
});

test("gap detection on batches uses from_seq", () => {
  assert.equal(classifySeq(14, { type: "batch", from_seq: 15, seq: 18 }), "apply");
  assert.equal(classifySeq(16, { type: "batch", from_seq: 15, seq: 18 }), "apply"); // overlap
  assert.equal(classifySeq(18, { type: "batch", from_seq: 15, seq: 18 }), "duplicate");
  assert.equal(classifySeq(13, { type: "batch", from_seq: 15, seq: 18 }), "gap");
});

test("staleness clock: fresh, delayed after 60 s, stale after 5 minutes", () => {
  const t = 1_000_000;
  assert.equal(freshness(t, t), "fresh");
  assert.equal(freshness(t + 59_999, t), "fresh");
  assert.equal(freshness(t + 60_000, t), "delayed");
  assert.equal(freshness(t + 299_999, t), "delayed");
  assert.equal(freshness(t + 300_000, t), "stale");
  assert.equal(freshness(t, null), "stale");
});

test("price badge: live under 5 s, fading to delayed at 30 s", () => {
  const t = 1_000_000;
  assert.equal(priceFeedState(t + 4_999, t, 0), "live");
  assert.equal(priceFeedState(t + 5_000, t, 0), "fading");
  assert.equal(priceFeedState(t + 29_999, t, 0), "fading");
  assert.equal(priceFeedState(t + 30_000, t, 0), "delayed");
  // No move seen yet: unknown until the page has watched for 30 s.
  assert.equal(priceFeedState(t + 10_000, null, t), "unknown");
  assert.equal(priceFeedState(t + 30_000, null, t), "delayed");
});

test("section clock names the sections quiet for 60 s", () => {
  const clock = new SectionClock(["account", "positions", "orders"], 0);
  clock.touch("account", 50_000);
  clock.touch("positions", 30_000);
  clock.touch("positions", 10_000); // older news never moves the clock back
  assert.deepEqual(clock.quiet(60_000), ["orders"]);
  assert.deepEqual(clock.quiet(95_000), ["positions", "orders"]);
  clock.touchAll(95_000);
  assert.deepEqual(clock.quiet(95_000), []);
  assert.equal(clock.age("account", 100_000), 5_000);
});
