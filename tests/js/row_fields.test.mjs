// The browser's lists of row fields name fields the server sends: the rows in
// js/row_fields.js are generated from realtime/events/schemas.py (tests/test_row_shapes.py
// keeps them current), so a field renamed or removed there fails here, not on the page.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ACCOUNT_CELLS, EQUITY_GROUP, FILL_CELLS, ORDER_CELLS, POSITION_CELLS, REALIZED } from "../../static/portfolio/js/render.js";
import { ACCOUNT_ROW, FILL_ROW, ORDER_ROW, POSITION_ROW } from "../../static/portfolio/js/row_fields.js";
import { ACCOUNT_FIELDS, ORDER_FIELDS, POSITION_FIELDS } from "../../static/portfolio/js/store_rows.js";
import { account, fill, order, position, restSnapshot } from "./helpers.mjs";

function assertFieldsOf(names, row, what) {
  const unknown = names.filter((name) => !row.includes(name));
  assert.deepEqual(unknown, [], `${what} names fields its row does not have`);
}

test("the store tracks fields of the rows", () => {
  assert.deepEqual([...POSITION_FIELDS, "symbol"].sort(), [...POSITION_ROW].sort());
  assertFieldsOf(ORDER_FIELDS, ORDER_ROW, "store_rows.js ORDER_FIELDS");
  assertFieldsOf(ACCOUNT_FIELDS, ACCOUNT_ROW, "store_rows.js ACCOUNT_FIELDS");
});

test("the page's cells show fields of the rows", () => {
  assertFieldsOf(Object.keys(POSITION_CELLS), POSITION_ROW, "render.js POSITION_CELLS");
  assertFieldsOf(Object.keys(ORDER_CELLS), ORDER_ROW, "render.js ORDER_CELLS");
  assertFieldsOf(Object.keys(FILL_CELLS), FILL_ROW, "render.js FILL_CELLS");
  for (const [what, names] of [
    ["ACCOUNT_CELLS", Object.keys(ACCOUNT_CELLS)],
    ["REALIZED", REALIZED],
    ["EQUITY_GROUP", EQUITY_GROUP],
  ]) {
    assertFieldsOf(names, ACCOUNT_ROW, `render.js ${what}`);
  }
});

test("the test rows have exactly the rows' fields, in the server's order", () => {
  assert.deepEqual(Object.keys(position("AAPL")), [...POSITION_ROW]);
  assert.deepEqual(Object.keys(order("o1")), [...ORDER_ROW]);
  assert.deepEqual(Object.keys(fill("e1")), [...FILL_ROW]);
  assert.deepEqual(Object.keys(account()), [...ACCOUNT_ROW]);
  assert.deepEqual(Object.keys(restSnapshot().account), [...ACCOUNT_ROW, "provider", "is_live", "trading_day"]);
});
