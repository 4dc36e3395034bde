import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Backoff,
  backoffCeiling,
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  fullJitterDelay,
  restartDelay,
  RESTART_CAP_MS,
} from "../../static/portfolio/js/backoff.js";

test("the ceiling doubles from 0.5 s and is capped at 30 s", () => {
  const schedule = Array.from({ length: 10 }, (_, attempt) => backoffCeiling(attempt));
  assert.deepEqual(schedule, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  assert.equal(backoffCeiling(1_000), BACKOFF_CAP_MS); // no overflow to Infinity
  assert.equal(BACKOFF_BASE_MS, 500);
});

test("full jitter: the delay is drawn from [0, ceiling], the cap applied before the jitter", () => {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const ceiling = backoffCeiling(attempt);
    assert.equal(fullJitterDelay(attempt, () => 0), 0);
    assert.equal(fullJitterDelay(attempt, () => 0.5), Math.round(ceiling / 2));
    assert.ok(fullJitterDelay(attempt, () => 0.999999) <= ceiling);
    for (let i = 0; i < 200; i += 1) {
      const delay = fullJitterDelay(attempt);
      assert.ok(delay >= 0 && delay <= ceiling, `${delay} outside [0, ${ceiling}]`);
    }
  }
});

test("jitter spreads reconnects: many clients do not come back at the same moment", () => {
  const delays = Array.from({ length: 1000 }, () => fullJitterDelay(6));
  const distinctSeconds = new Set(delays.map((d) => Math.floor(d / 1000)));
  assert.ok(distinctSeconds.size >= 25, `only ${distinctSeconds.size} distinct seconds`);
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  assert.ok(mean > 12_000 && mean < 18_000, `mean ${mean}`);
});

test("Backoff counts failures and resets after a good connection", () => {
  const backoff = new Backoff({ random: () => 1 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [500, 1000, 2000]);
  for (let i = 0; i < 10; i += 1) backoff.next();
  assert.equal(backoff.next(), 30_000);
  backoff.reset();
  assert.equal(backoff.next(), 500);
});

test("after an announced restart: about a second, then at most 3 s, until reset", () => {
  assert.deepEqual([0, 1, 2, 3, 20].map((a) => restartDelay(a, () => 0)), [500, 1000, 1500, 1500, 1500]);
  assert.deepEqual([0, 1, 2, 3, 20].map((a) => restartDelay(a, () => 1)), [1000, 2000, 3000, 3000, 3000]);
  const backoff = new Backoff({ random: () => 1 });
  backoff.next();
  backoff.next(); // two ordinary failures: the next ordinary wait would be 2 s, then 4 s, ...
  backoff.serverRestarting();
  const waits = Array.from({ length: 10 }, () => backoff.next());
  assert.equal(waits[0], 1000);
  assert.ok(Math.max(...waits) <= RESTART_CAP_MS);
  backoff.reset();
  assert.equal(backoff.next(), 500);
});
