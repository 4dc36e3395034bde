// Row shapes of the store: which fields matter, what counts as open or closed, and
// the per-field directions of a change (for the flash animations).
import { compareDecimal, parseDecimal } from "./decimal.js";
import { POSITION_ROW } from "./row_fields.js";

export const SECTIONS = ["account", "positions", "orders", "fills"];
export const MAX_FILLS = 20;
// trading.enums.OPEN_ORDER_STATUSES: everything but the terminal statuses.
export const TERMINAL_ORDER_STATUSES = new Set([
  "filled",
  "canceled",
  "expired",
  "replaced",
  "rejected",
  "done_for_day",
]);
export const FILL_STATUSES = new Set(["filled", "partially_filled"]);

// Every field of a position but its key: any change re-renders the row.
export const POSITION_FIELDS = POSITION_ROW.filter((field) => field !== "symbol");
// The order and account fields the page shows or acts on; tests/js/row_fields.test.mjs
// checks that each is a field of its row (js/row_fields.js, generated from the schemas).
export const ORDER_FIELDS = ["status", "qty", "filled_qty", "filled_avg_price", "limit_price", "symbol", "side", "type"];
export const ACCOUNT_FIELDS = ["equity", "last_equity", "cash", "buying_power", "day_pl", "day_pl_pct", "realized_pl", "realized_pl_today"];

export function isOpenOrder(order) {
  return !TERMINAL_ORDER_STATUSES.has(order.status);
}

/** A position the server reports as closed: side "flat" or a zero quantity. */
export function isClosedPosition(position) {
  const qty = parseDecimal(position.qty);
  return position.side === "flat" || (qty !== null && qty.mag === 0n);
}

function direction(before, after) {
  const a = typeof before === "string" ? parseDecimal(before) : null;
  const b = typeof after === "string" ? parseDecimal(after) : null;
  if (a && b) {
    const order = compareDecimal(b, a);
    return order > 0 ? "up" : order < 0 ? "down" : null;
  }
  return before === after ? null : "changed";
}

/** {field: "up" | "down" | "changed"} for the fields whose value differs. */
export function diffFields(before, after, fields) {
  const changed = {};
  for (const field of fields) {
    if (!(field in after)) continue;
    const way = before ? direction(before[field], after[field]) : null;
    if (way) changed[field] = way;
  }
  return changed;
}

export function newChange(source) {
  return {
    source,
    account: null, // {row, fields}
    positions: new Map(), // symbol -> {row, fields, isNew}
    removedPositions: new Set(),
    orders: new Map(), // id -> {row, fields, isNew}
    removedOrders: new Set(),
    fills: [], // newly seen fills
    fillsReset: false,
    transitions: [], // {id, symbol, side, from, to, order}
    sections: new Set(), // sections whose data was (re)confirmed
  };
}

export function isEmptyChange(change) {
  return (
    !change.account &&
    change.positions.size === 0 &&
    change.removedPositions.size === 0 &&
    change.orders.size === 0 &&
    change.removedOrders.size === 0 &&
    change.fills.length === 0 &&
    !change.fillsReset &&
    change.transitions.length === 0
  );
}
