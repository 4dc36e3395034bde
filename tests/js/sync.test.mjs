import assert from "node:assert/strict";
import { test } from "node:test";

import { PortfolioStore } from "../../static/portfolio/js/store.js";
import { FILL_POSITION_GRACE_MS, pollInterval, POLL_FALLBACK_MS, POLL_LIVE_MS, SyncController } from "../../static/portfolio/js/sync.js";
import { event, FakeTimers, order, position, quietLogger, restSnapshot } from "./helpers.mjs";

async function settle() {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

function setup({ fail = false } = {}) {
  const timers = new FakeTimers();
  const store = new PortfolioStore({ now: timers.now });
  store.hydrate(restSnapshot({ positions: [position("AAPL")] }));
  const fetches = [];
  const sync = new SyncController({
    store,
    timers,
    now: timers.now,
    logger: quietLogger(),
    fetchSnapshot: async () => {
      fetches.push(timers.now());
      if (fail) throw new Error("offline");
      return restSnapshot({ positions: [position("AAPL")] });
    },
  });
  return { timers, store, sync, fetches };
}

async function run(timers, ms, step = 1_000) {
  for (let t = 0; t < ms; t += step) {
    timers.advance(step);
    await settle();
  }
}

test("poll intervals: 300 s backup while live, 30 s otherwise", () => {
  assert.equal(pollInterval("live"), POLL_LIVE_MS);
  assert.equal(pollInterval("fallback"), POLL_FALLBACK_MS);
  assert.equal(POLL_LIVE_MS, 300_000);
  assert.equal(POLL_FALLBACK_MS, 30_000);
});

test("without a socket the page polls every 30 s", async () => {
  const { timers, sync, fetches } = setup();
  sync.start();
  await run(timers, 95_000);
  assert.deepEqual(fetches.map((t) => t - 1_000_000), [30_000, 60_000, 90_000]);
});

test("failed polls keep the 30 s rhythm", async () => {
  const { timers, sync, fetches } = setup({ fail: true });
  sync.start();
  await run(timers, 65_000);
  assert.equal(fetches.length, 2);
  assert.ok(sync.lastError);
});

test("switching to live moves the next poll to 300 s; dropping back returns to 30 s", async () => {
  const { timers, sync, fetches, store } = setup();
  sync.start();
  await run(timers, 10_000);
  sync.setMode("live");
  // Keep every section busy so the 60 s quiet-section refetch does not fire.
  const busy = async (seconds) => {
    for (let s = 0; s < seconds; s += 1) {
      store.clock.touchAll(timers.now());
      sync.tick();
      timers.advance(1_000);
      await settle();
    }
  };
  await busy(280);
  assert.equal(fetches.length, 0);
  await busy(15);
  assert.equal(fetches.length, 1); // the backup poll at 300 s
  assert.equal(fetches[0] - 1_000_000, 300_000);
  sync.setMode("fallback");
  await run(timers, 30_000);
  assert.equal(fetches.length, 2);
  assert.equal(fetches[1] - fetches[0], 30_000);
});

test("entering fallback long after the last fetch polls at once", async () => {
  const { timers, sync, fetches, store } = setup();
  sync.start();
  sync.setMode("live");
  timers.advance(100_000);
  store.clock.touchAll(timers.now());
  sync.setMode("fallback");
  timers.advance(0);
  await settle();
  assert.equal(fetches.length, 1);
});

test("while live, a section quiet for 60 s is refetched over REST", async () => {
  const { timers, sync, fetches, store } = setup();
  sync.start();
  sync.setMode("live");
  for (let s = 0; s < 70; s += 1) {
    store.clock.touch("positions", timers.now());
    store.clock.touch("account", timers.now());
    sync.tick();
    timers.advance(1_000);
    await settle();
  }
  assert.equal(fetches.length, 1); // orders and fills went quiet
  assert.ok(fetches[0] - 1_000_000 >= 60_000);
  assert.equal(store.clock.quiet(timers.now()).length, 0); // the refetch confirmed every section
});

test("an order that fills without a position update brings a position refresh", async () => {
  const { timers, sync, fetches, store } = setup();
  store.subscribe((change) => sync.noteChange(change));
  sync.setMode("live");
  store.applyEvent(event("order_update", 1, order("o1", { status: "new" })));
  store.applyEvent(event("order_update", 2, order("o1", { status: "filled", filled_qty: "1.000000" })));
  timers.advance(FILL_POSITION_GRACE_MS - 100);
  sync.tick();
  assert.equal(fetches.length, 0);
  timers.advance(200);
  sync.tick();
  await settle();
  assert.equal(fetches.length, 1);
});

test("a fill whose position arrives in time needs no refresh", async () => {
  const { timers, sync, fetches, store } = setup();
  store.subscribe((change) => sync.noteChange(change));
  sync.setMode("live");
  store.applyEvent(event("order_update", 1, order("o1", { status: "filled", filled_qty: "1.000000" })));
  timers.advance(50);
  store.applyEvent(event("position_update", 1, position("AAPL", { qty: "11.000000" })));
  timers.advance(FILL_POSITION_GRACE_MS);
  sync.tick();
  await settle();
  assert.equal(fetches.length, 0);
});

test("refreshes in flight are shared, not repeated", async () => {
  const { sync, fetches } = setup();
  const a = sync.refresh("a");
  const b = sync.refresh("b");
  assert.equal(a, b);
  await a;
  assert.equal(fetches.length, 1);
});

test("an order placed without a socket is looked for within seconds", async () => {
  const { timers, sync, fetches } = setup();
  sync.start();
  sync.orderPlaced();
  await run(timers, 5_000, 500);
  assert.equal(fetches.length, 2);
});
