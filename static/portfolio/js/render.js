// The DOM side of the store: rows keyed by symbol, order id and execution id, cells keyed by
// data-field. A change set names what changed; only those rows and cells are touched. New
// rows are cloned from the <template>s the server renders, so markup lives in one place.
// Text colour follows each figure's sign; a change flashes (a fading tint) only when it is
// meaningful (js/significance.js), never on every price tick.

import { ago, exactPrice, price, qty, signedPct, signedUsd, statusLabel, timestamp, isoForAttribute, usd, trend } from "./format.js";
import { flash } from "./flash.js";
import { AttentionMarks, changeDirection, isMeaningfulMove } from "./significance.js";
import { feedBadge, sectionNote } from "./staleness.js";
import { MAX_FILLS } from "./store_rows.js";
import { totalUnrealizedPl, valueOf } from "./totals.js";

const text = (value) => (value === null || value === undefined ? "" : String(value));
const spec = (format, { sign = false, title = null } = {}) => ({ format, sign, title });

// Cells by row field (tests/js/row_fields.test.mjs checks each names a field of its row).
export const POSITION_CELLS = {
  qty: spec(qty),
  avg_entry_price: spec(price, { title: exactPrice }),
  current_price: spec(price, { title: exactPrice }),
  market_value: spec(usd),
  unrealized_pl: spec(signedUsd, { sign: true }),
  unrealized_plpc: spec(signedPct, { sign: true }),
  unrealized_intraday_pl: spec(signedUsd, { sign: true }),
  change_today: spec(signedPct, { sign: true }),
};
export const ACCOUNT_CELLS = {
  equity: spec(usd),
  last_equity: spec(usd),
  cash: spec(usd),
  buying_power: spec(usd),
  day_pl: spec(signedUsd, { sign: true }),
  day_pl_pct: spec(signedPct, { sign: true }),
  realized_pl_today: spec(signedUsd, { sign: true }),
  realized_pl: spec(signedUsd, { sign: true }),
};
// Booked by closing fills only: each change is a trade, and flashes.
export const REALIZED = ["realized_pl_today", "realized_pl"];
const TOTAL_CELL = spec(signedUsd, { sign: true });
// Figures that move with equity: they flash together when equity moved meaningfully.
export const EQUITY_GROUP = ["equity", "day_pl", "day_pl_pct"];
export const ORDER_CELLS = {
  symbol: spec(text),
  type: spec(text),
  qty: spec(qty),
  filled_qty: spec(qty),
  limit_price: spec(price, { title: exactPrice }),
};
export const FILL_CELLS = { symbol: spec(text), qty: spec(qty), price: spec(price, { title: exactPrice }) };
// A fill's value, qty x price exactly: the cents shown, every digit in the tooltip.
const VALUE_CELL = spec(usd, { title: exactPrice });

/** Set a cell's data-value, text, sign colour and tooltip; returns whether anything changed. */
export function setCell(cell, raw, { format, sign = false, title = null }) {
  const value = raw === null || raw === undefined ? "" : String(raw);
  const shown = format(raw);
  let changed = false;
  if (cell.dataset.value !== value) {
    cell.dataset.value = value;
    changed = true;
  }
  if (cell.textContent !== shown) {
    cell.textContent = shown;
    changed = true;
  }
  if (sign) {
    const way = trend(value);
    for (const name of ["up", "down", "flat"]) cell.classList.toggle(name, name === way);
  }
  if (title) {
    const tip = value ? title(raw) : "";
    if (tip && cell.title !== tip) cell.title = tip;
    else if (!tip && cell.hasAttribute("title")) cell.removeAttribute("title");
  }
  return changed;
}

function field(row, name) {
  return row.querySelector(`[data-field="${name}"]`);
}

function setTag(cell, value, className, label = value) {
  cell.dataset.value = value;
  let tag = cell.querySelector("span");
  if (!tag) {
    tag = cell.ownerDocument.createElement("span");
    cell.replaceChildren(tag);
  }
  tag.className = className;
  tag.textContent = label;
}

function setTime(cell, iso) {
  const attr = isoForAttribute(iso);
  if (cell.dataset.value === attr) return;
  cell.dataset.value = attr;
  const time = cell.ownerDocument.createElement("time");
  time.dateTime = attr;
  time.textContent = timestamp(iso);
  cell.replaceChildren(time);
}

function setSymbol(cell, symbol, side) {
  cell.dataset.value = symbol;
  const doc = cell.ownerDocument;
  const name = doc.createElement("span");
  name.className = "symbol";
  name.textContent = symbol;
  const parts = [name];
  if (side === "short") {
    const tag = doc.createElement("span");
    tag.className = "tag tag-short";
    tag.textContent = "short";
    parts.push(doc.createTextNode(" "), tag);
  }
  cell.replaceChildren(...parts);
}

function flashKind(direction) {
  return direction === "up" || direction === "down" ? direction : "changed";
}

/** Each cell of `cells` ({name: spec}) of `element` set to `row`: [{name, cell, from, to}]. */
function updateCells(element, cells, row, marks) {
  const updates = [];
  for (const [name, cellSpec] of Object.entries(cells)) {
    const cell = element.querySelector(`[data-field="${name}"]`);
    if (!cell || !(name in row)) continue;
    const from = marks.get(cell, cell.dataset.value);
    setCell(cell, row[name], cellSpec);
    updates.push({ name, cell, from, to: text(row[name]) });
  }
  return updates;
}

/** Rows of one table body, by key, kept in order, with the "nothing here" row last. */
class KeyedRows {
  constructor(body, template, keyAttribute) {
    this.body = body;
    this.template = template;
    this.keyAttribute = keyAttribute;
    this.empty = body.querySelector(".empty-row");
    this.rows = new Map();
    for (const row of body.querySelectorAll(`tr[${keyAttribute}]`)) this.rows.set(row.getAttribute(keyAttribute), row);
  }

  get(key) {
    return this.rows.get(key);
  }

  /** A new row from the template, inserted before the first row for which `before` holds. */
  create(key, before) {
    const row = this.template.content.firstElementChild.cloneNode(true);
    row.setAttribute(this.keyAttribute, key);
    const inOrder = [...this.body.children].filter((tr) => tr.hasAttribute(this.keyAttribute));
    const next = inOrder.find(before) || this.empty;
    this.body.insertBefore(row, next);
    this.rows.set(key, row);
    return row;
  }

  remove(key) {
    const row = this.rows.get(key);
    if (row) row.remove();
    this.rows.delete(key);
  }

  /** Put the rows in `keys` order (moving, not re-creating) and drop the others. */
  reorder(keys) {
    for (const key of [...this.rows.keys()]) if (!keys.includes(key)) this.remove(key);
    for (const key of keys) {
      const row = this.rows.get(key);
      if (row) this.body.insertBefore(row, this.empty);
    }
  }

  syncEmpty() {
    if (this.empty) this.empty.hidden = this.rows.size > 0;
  }
}

export class PortfolioView {
  constructor(root, doc = root.ownerDocument) {
    this.root = root;
    this.doc = doc;
    this.positions = new KeyedRows(
      doc.querySelector("#positions tbody"),
      doc.getElementById("position-row-template"),
      "data-symbol",
    );
    this.orders = new KeyedRows(
      doc.querySelector("#open-orders tbody"),
      doc.getElementById("order-row-template"),
      "data-order-id",
    );
    this.fills = new KeyedRows(
      doc.querySelector("#recent-fills tbody"),
      doc.getElementById("fill-row-template"),
      "data-execution-id",
    );
    this.account = doc.getElementById("account");
    this.totalUnrealized = doc.querySelector('[data-field="total_unrealized_pl"]');
    this.positionsWithPl = doc.querySelector('[data-count-for="positions-pl"]');
    this.positionCount = doc.querySelector('[data-count-for="positions"]');
    this.orderCount = doc.querySelector('[data-count-for="orders"]');
    this.updated = [...doc.querySelectorAll("[data-updated-for]")];
    this.tinted = new AttentionMarks(); // cell -> its value at its last flash
    this.moved = new AttentionMarks(); // P&L cell -> its value at its last swell or shake
  }

  render(change, store) {
    if (change.account) this.renderAccount(change.account);
    this.renderPositions(change, store);
    this.renderTotals(change, store);
    this.renderOrders(change, store);
    this.renderFills(change, store);
  }

  /** The equity that makes a P&L move meaningful enough for motion. */
  _equity() {
    const cell = this.account && this.account.querySelector('[data-field="equity"]');
    return cell ? cell.dataset.value : null;
  }

  /**
   * Flash the cells of `updates` that differ from their last flashed value, and mark them.
   * P&L figures (.pl) also move, when they moved $1 and 0.05 % of equity since they last did.
   */
  _attend(updates, equity) {
    for (const { cell, from, to } of updates) {
      const way = changeDirection(from, to);
      this.tinted.set(cell, to);
      if (!way) continue;
      let motion = false;
      if (cell.classList.contains("pl") && way !== "changed") {
        motion = isMeaningfulMove(this.moved.get(cell, from), to, equity);
        if (motion) this.moved.set(cell, to);
      }
      flash(cell, flashKind(way), { motion });
    }
  }

  renderAccount({ row, fields }) {
    const updates = updateCells(this.account, ACCOUNT_CELLS, row, this.tinted);
    const byName = Object.fromEntries(updates.map((u) => [u.name, u]));
    const trade = "cash" in fields; // only a trade (or a transfer) moves cash
    const equity = byName.equity;
    const attend = [];
    if (equity && (trade || isMeaningfulMove(equity.from, equity.to))) {
      attend.push(...EQUITY_GROUP.map((name) => byName[name]).filter(Boolean));
    }
    if (byName.cash && "cash" in fields) attend.push(byName.cash);
    const power = byName.buying_power;
    if (power && (trade || isMeaningfulMove(power.from, power.to, row.equity))) attend.push(power);
    for (const name of REALIZED) if (byName[name] && name in fields) attend.push(byName[name]);
    this._attend(attend, row.equity);
  }

  /**
   * The positions' total unrealized P&L, summed exactly; it flashes on a trade (a position
   * opened, closed or resized) or a move of $1 and 0.05 % of equity since it last flashed.
   */
  renderTotals(change, store) {
    const cell = this.totalUnrealized;
    if (!cell) return;
    if (change.positions.size === 0 && change.removedPositions.size === 0 && change.source !== "rest" && change.source !== "snapshot") return;
    const total = totalUnrealizedPl(store.positions.values());
    if (total === null) return;
    const from = this.tinted.get(cell, cell.dataset.value);
    setCell(cell, total, TOTAL_CELL);
    const trade =
      change.removedPositions.size > 0 ||
      [...change.positions.values()].some(({ fields, isNew }) => isNew || "qty" in fields || "side" in fields);
    const equity = this._equity();
    if (trade || isMeaningfulMove(from, total, equity)) this._attend([{ cell, from, to: total }], equity);
    const count = store.positions.size === 1 ? "1 open position" : `${store.positions.size} open positions`;
    if (this.positionsWithPl && this.positionsWithPl.textContent !== count) this.positionsWithPl.textContent = count;
  }

  renderPositions(change, store) {
    const equity = this._equity();
    for (const symbol of change.removedPositions) this.positions.remove(symbol);
    for (const [symbol, { row: position, fields, isNew }] of change.positions) {
      let row = this.positions.get(symbol);
      const created = !row;
      if (created) row = this.positions.create(symbol, (other) => other.dataset.symbol > symbol);
      if (created || "side" in fields) setSymbol(field(row, "symbol"), symbol, position.side);
      const updates = updateCells(row, POSITION_CELLS, position, this.tinted);
      if (created || isNew) {
        for (const { cell, to } of updates) this.tinted.set(cell, to);
        flash(row, "new");
        flash(field(row, "qty"), "up");
        continue;
      }
      // A trade (the quantity changed) always shows; a price tick only once the position's
      // value moved $1 and 0.05 % since its last flash.
      const trade = "qty" in fields || "side" in fields;
      const value = updates.find((u) => u.name === "market_value");
      if (trade || (value && isMeaningfulMove(value.from, value.to))) this._attend(updates, equity);
    }
    this.positions.syncEmpty();
    const count = `${store.positions.size} open`;
    if (this.positionCount && this.positionCount.textContent !== count) this.positionCount.textContent = count;
  }

  renderOrders(change, store) {
    for (const id of change.removedOrders) this.orders.remove(id);
    for (const [id, { row: order, fields }] of change.orders) {
      let row = this.orders.get(id);
      const created = !row;
      if (created) {
        const at = Date.parse(order.submitted_at);
        row = this.orders.create(id, (other) => Date.parse(field(other, "submitted_at").dataset.value) < at);
        setTime(field(row, "submitted_at"), order.submitted_at);
        setTag(field(row, "side"), order.side, `tag tag-${order.side}`);
        const button = row.querySelector("[data-action=cancel]");
        if (button) button.setAttribute("aria-label", `Cancel ${order.side} ${qty(order.qty)} ${order.symbol}`);
      }
      for (const [name, cellSpec] of Object.entries(ORDER_CELLS)) {
        const cell = field(row, name);
        setCell(cell, order[name], cellSpec);
        if (!created && fields[name]) flash(cell, flashKind(fields[name]));
      }
      const status = field(row, "status");
      setTag(status, order.status, `status status-${order.status}`, statusLabel(order.status));
      if (!created && fields.status) flash(status, "changed");
      const button = row.querySelector("[data-action=cancel]");
      if (button && !button.textContent.startsWith("Canceling")) button.disabled = order.status === "pending_cancel";
      if (created) flash(row, "new");
    }
    this.orders.syncEmpty();
    const count = String(store.orders.size);
    if (this.orderCount && this.orderCount.textContent !== count) this.orderCount.textContent = count;
  }

  renderFills(change, store) {
    if (!change.fillsReset && change.fills.length === 0) return;
    const fresh = new Set(change.fills.map((fill) => fill.execution_id));
    for (const fill of store.fills) {
      if (this.fills.get(fill.execution_id)) continue;
      const at = Date.parse(fill.executed_at);
      const row = this.fills.create(fill.execution_id, (other) => Date.parse(field(other, "executed_at").dataset.value) < at);
      row.dataset.orderId = fill.order_id;
      setTime(field(row, "executed_at"), fill.executed_at);
      setTag(field(row, "side"), fill.side, `tag tag-${fill.side}`);
      for (const [name, cellSpec] of Object.entries(FILL_CELLS)) setCell(field(row, name), fill[name], cellSpec);
      const value = field(row, "value");
      if (value) setCell(value, valueOf(fill.qty, fill.price), VALUE_CELL);
      if (fresh.has(fill.execution_id)) flash(row, "new");
    }
    this.fills.reorder(store.fills.slice(0, MAX_FILLS).map((fill) => fill.execution_id));
    this.fills.syncEmpty();
  }

  /**
   * Live / Delayed badges, from when each symbol's price last moved; none live unless the socket
   * streams. `connection`: "live", "starting" or "down" (staleness.js feedBadge).
   */
  renderFeeds(store, now, connection) {
    const connected = connection === "live";
    for (const [symbol, row] of this.positions.rows) {
      const cell = row.querySelector(".feed");
      if (!cell) continue;
      const badge = feedBadge(store.priceFeed(symbol, now), connection);
      if (cell.dataset.feed !== badge.feed) cell.dataset.feed = badge.feed;
      const fading = badge.fading ? "true" : "false";
      if (cell.dataset.fading !== fading) cell.dataset.fading = fading;
      const slot = cell.querySelector("[data-feed-badge]");
      if (slot && slot.textContent !== badge.text) slot.textContent = badge.text;
      const moved = store.priceMovedAt.get(symbol);
      const title = !connected
        ? "No live prices: the live connection is not up. Showing the last price received."
        : moved
          ? `Price moved ${ago(now - moved)}`
          : "No price move seen since the page opened";
      if (cell.title !== title) cell.title = title;
    }
  }

  /** "Live" per section while streaming; "Updated 12s ago" otherwise. */
  renderAges(store, now, connected) {
    for (const element of this.updated) {
      const age = store.sectionAge(element.dataset.updatedFor, now);
      const note = sectionNote(age, connected, ago(age));
      if (element.textContent !== note.text) element.textContent = note.text;
      if (element.title !== note.title) element.title = note.title;
      element.dataset.quiet = note.quiet ? "true" : "false";
      element.dataset.live = connected ? "true" : "false";
    }
  }
}
