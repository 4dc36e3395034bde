// The DOM side of the store: rows keyed by symbol, order id and execution id, cells keyed by
// data-field. A change set names what changed; only those rows and cells are touched. New
// rows are cloned from the <template>s the server renders, so markup lives in one place.

import { ago, price, qty, signedPct, signedUsd, statusLabel, timestamp, isoForAttribute, trend, usd } from "./format.js";
import { flash } from "./flash.js";
import { MAX_FILLS } from "./store_rows.js";

const text = (value) => (value === null || value === undefined ? "" : String(value));

// field -> [format, colour by sign]
const POSITION_CELLS = {
  qty: [qty, false],
  avg_entry_price: [price, false],
  current_price: [price, false],
  market_value: [usd, false],
  unrealized_pl: [signedUsd, true],
  unrealized_plpc: [signedPct, true],
  unrealized_intraday_pl: [signedUsd, true],
};
const ACCOUNT_CELLS = {
  equity: [usd, false],
  last_equity: [usd, false],
  cash: [usd, false],
  buying_power: [usd, false],
  day_pl: [signedUsd, true],
  day_pl_pct: [signedPct, true],
};
const ORDER_CELLS = { symbol: [text, false], type: [text, false], qty: [qty, false], filled_qty: [qty, false], limit_price: [price, false] };
const FILL_CELLS = { symbol: [text, false], qty: [qty, false], price: [price, false] };
const FEED_TEXT = { live: "Live", fading: "Live", delayed: "Delayed", unknown: "" };

/** Set a plain cell's data-value and text; returns whether anything changed. */
export function setCell(cell, raw, format, withTrend) {
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
  if (withTrend) {
    const way = trend(value);
    for (const name of ["up", "down", "flat"]) cell.classList.toggle(name, name === way);
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
    this.positionCount = doc.querySelector('[data-count-for="positions"]');
    this.orderCount = doc.querySelector('[data-count-for="orders"]');
    this.updated = [...doc.querySelectorAll("[data-updated-for]")];
  }

  render(change, store) {
    if (change.account) this.renderAccount(change.account);
    this.renderPositions(change, store);
    this.renderOrders(change, store);
    this.renderFills(change, store);
  }

  renderAccount({ row, fields }) {
    for (const [name, [format, withTrend]] of Object.entries(ACCOUNT_CELLS)) {
      const cell = this.account.querySelector(`[data-field="${name}"]`);
      if (!cell || !(name in row)) continue;
      setCell(cell, row[name], format, withTrend);
      if (fields[name] && name !== "last_equity") flash(cell, flashKind(fields[name]));
    }
  }

  renderPositions(change, store) {
    for (const symbol of change.removedPositions) this.positions.remove(symbol);
    for (const [symbol, { row: position, fields, isNew }] of change.positions) {
      let row = this.positions.get(symbol);
      const created = !row;
      if (created) row = this.positions.create(symbol, (other) => other.dataset.symbol > symbol);
      if (created || "side" in fields) setSymbol(field(row, "symbol"), symbol, position.side);
      for (const [name, [format, withTrend]] of Object.entries(POSITION_CELLS)) {
        const cell = field(row, name);
        setCell(cell, position[name], format, withTrend);
        if (!created && fields[name]) flash(cell, flashKind(fields[name]));
      }
      if (created || isNew) {
        flash(row, "new");
        flash(field(row, "qty"), "up");
      }
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
      for (const [name, [format, withTrend]] of Object.entries(ORDER_CELLS)) {
        const cell = field(row, name);
        setCell(cell, order[name], format, withTrend);
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
      for (const [name, [format, withTrend]] of Object.entries(FILL_CELLS)) setCell(field(row, name), fill[name], format, withTrend);
      if (fresh.has(fill.execution_id)) flash(row, "new");
    }
    this.fills.reorder(store.fills.slice(0, MAX_FILLS).map((fill) => fill.execution_id));
    this.fills.syncEmpty();
  }

  /** Live / Delayed badges, from when each symbol's price last moved. */
  renderFeeds(store, now) {
    for (const [symbol, row] of this.positions.rows) {
      const cell = row.querySelector(".feed");
      if (!cell) continue;
      const state = store.priceFeed(symbol, now);
      if (cell.dataset.feed !== state) {
        cell.dataset.feed = state;
        const badge = cell.querySelector("[data-feed-badge]");
        if (badge) badge.textContent = FEED_TEXT[state];
      }
      const moved = store.priceMovedAt.get(symbol);
      const title = moved ? `Price moved ${ago(now - moved)}` : "No price move seen since the page opened";
      if (cell.title !== title) cell.title = title;
    }
  }

  /** "Updated 12s ago" per section. */
  renderAges(store, now) {
    for (const element of this.updated) {
      const age = store.sectionAge(element.dataset.updatedFor, now);
      const label = `Updated ${ago(age)}`;
      if (element.textContent !== label) element.textContent = label;
      element.dataset.quiet = age >= 60_000 ? "true" : "false";
    }
  }
}
