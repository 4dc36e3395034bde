// When a change earns a flash: a trade, or a move of at least $1 and 0.05 % since the last one.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AttentionMarks, changeDirection, isMeaningfulMove } from "../../static/portfolio/js/significance.js";

test("a move must be at least $1 and at least 0.05 % of its base", () => {
  // Equity of $100,000: a tick of a few dollars is noise, $50 is news.
  assert.equal(isMeaningfulMove("100000.00", "100003.20"), false);
  assert.equal(isMeaningfulMove("100000.00", "100049.99"), false);
  assert.equal(isMeaningfulMove("100000.00", "100050.00"), true);
  assert.equal(isMeaningfulMove("100000.00", "99950.00"), true);
  // A $2,000 position: 0.05 % is $1, so the dollar floor decides.
  assert.equal(isMeaningfulMove("2000.00", "2000.99"), false);
  assert.equal(isMeaningfulMove("2000.00", "2001.00"), true);
  // A small P&L figure measured against equity, not against itself.
  assert.equal(isMeaningfulMove("3.00", "6.00"), true);
  assert.equal(isMeaningfulMove("3.00", "6.00", "100000.00"), false);
  assert.equal(isMeaningfulMove("-141.75", "-80.00", "100000.00"), true);
  // Appearing, disappearing, unchanged.
  assert.equal(isMeaningfulMove(null, "1.00"), true);
  assert.equal(isMeaningfulMove("1.00", "1.00"), false);
});

test("directions are exact decimal comparisons", () => {
  assert.equal(changeDirection("141.75", "141.76"), "up");
  assert.equal(changeDirection("-0.01", "-0.02"), "down");
  assert.equal(changeDirection("10.10", "10.1"), null);
  assert.equal(changeDirection("new", "filled"), "changed");
  assert.equal(changeDirection("", "1"), "changed");
});

test("marks remember the value at the last flash, so a slow drift shows once it adds up", () => {
  const marks = new AttentionMarks();
  const cell = {};
  let value = "2000.00";
  assert.equal(marks.get(cell, value), "2000.00"); // first sight marks the current value
  let flashes = 0;
  for (let tick = 0; tick < 10; tick += 1) {
    value = (Number(value) + 0.25).toFixed(2); // test data only; the page never does this
    if (isMeaningfulMove(marks.get(cell, value), value)) {
      flashes += 1;
      marks.set(cell, value);
    }
  }
  assert.equal(flashes, 2); // at +$1.00 and +$2.00, not on each of the 10 ticks
});
