// Order history: the account's finished orders (filled, canceled, expired, rejected), newest
// first. The first page comes with the page (the server renders it, and embeds it in the shape
// of GET /api/orders/?status=closed); "More" follows the API's `next`; an order that finishes
// while the page is open (the stream, the ticket's answer, a lookup) joins at once, without a
// refetch. Pages are merged by order id, so pages that shifted under new orders only repeat
// rows, never skip them.

import { flash } from "./flash.js";
import { isoForAttribute, price, exactPrice, qty, statusLabel, timestamp, usd } from "./format.js";
import { isOpenOrder } from "./store_rows.js";
import { orderValue } from "./totals.js";

/** Newest first, as the API sorts (submitted_at, then id, both descending). */
export function compareOrders(a, b) {
  const byTime = Date.parse(b.submitted_at) - Date.parse(a.submitted_at);
  if (byTime) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The path and query of an API link (`next` is absolute; a proxy may have named another host). */
export function sameOriginPath(link, base = "http://localhost/") {
  if (!link) return null;
  try {
    const url = new URL(link, base);
    return `${url.pathname}${url.search}`;
  } catch {
    return null;
  }
}

export class OrderHistory {
  constructor() {
    this.orders = new Map(); // id -> order
    this.next = null; // the API's link to the next older page
    this.count = null; // the API's count, plus orders that finished since
    this.pages = 0;
  }

  /**
   * One page of GET /api/orders/?status=closed: {count, next, results}. `first`: the newest page
   * again (after a reconnect); it does not move `next` back once older pages are loaded.
   * Returns the ids that were new.
   */
  addPage(page, { first = false } = {}) {
    const added = [];
    for (const order of page.results || []) {
      if (this._merge(order) === "added") added.push(order.id);
    }
    if (!first || this.pages <= 1) this.next = page.next || null;
    if (typeof page.count === "number") this.count = page.count; // the server's, as of now
    if (!first || this.pages === 0) this.pages += 1;
    return added;
  }

  /** An order that reached a final status: "added", "updated" or null (open, or not newer). */
  upsert(order) {
    if (!order || !order.id || isOpenOrder(order)) return null;
    const outcome = this._merge(order);
    if (outcome === "added" && this.count !== null) this.count += 1;
    return outcome;
  }

  sorted() {
    return [...this.orders.values()].sort(compareOrders);
  }

  _merge(order) {
    if (isOpenOrder(order)) return null;
    const before = this.orders.get(order.id);
    if (before) {
      // The later state wins (a status never goes back, but answers can cross).
      if (before.updated_at && order.updated_at && Date.parse(order.updated_at) < Date.parse(before.updated_at)) return null;
      if (JSON.stringify(before) === JSON.stringify(order)) return null;
      this.orders.set(order.id, { ...order });
      return "updated";
    }
    this.orders.set(order.id, { ...order });
    return "added";
  }
}

// --- DOM -------------------------------------------------------------------------------------

function set(cell, value, textValue, title = null) {
  if (!cell) return;
  const raw = value === null || value === undefined ? "" : String(value);
  if (cell.dataset.value !== raw) cell.dataset.value = raw;
  if (cell.textContent !== textValue) cell.textContent = textValue;
  if (title && raw) {
    if (cell.title !== title) cell.title = title;
  } else if (cell.hasAttribute("title")) cell.removeAttribute("title");
}

/** The history table: rows cloned from the server's <template>, keyed by order id. */
export class OrderHistoryView {
  constructor(section, template) {
    this.section = section;
    this.template = template;
    this.body = section.querySelector("tbody");
    this.empty = this.body.querySelector(".empty-row");
    this.more = section.querySelector("[data-history-more]");
    this.countSlot = section.querySelector("[data-count-for=history]");
    this.note = section.querySelector("[data-history-note]");
    this.rows = new Map();
    for (const row of this.body.querySelectorAll("tr[data-order-id]")) this.rows.set(row.dataset.orderId, row);
  }

  render(history, { fresh = new Set() } = {}) {
    const orders = history.sorted();
    const keep = new Set(orders.map((order) => order.id));
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
    let previous = null;
    for (const order of orders) {
      let row = this.rows.get(order.id);
      if (!row) {
        row = this.template.content.firstElementChild.cloneNode(true);
        row.dataset.orderId = order.id;
        this.rows.set(order.id, row);
      }
      this._fill(row, order);
      const slot = previous ? previous.nextElementSibling : this.body.firstElementChild;
      if (slot !== row) this.body.insertBefore(row, slot); // moves only rows out of place
      previous = row;
      if (fresh.has(order.id)) flash(row, "new");
    }
    if (this.empty) {
      this.body.append(this.empty);
      this.empty.hidden = this.rows.size > 0;
    }
    this.renderMore(history, false);
    if (this.countSlot) {
      const count = history.count ?? this.rows.size;
      const label = `${count}`;
      if (this.countSlot.textContent !== label) this.countSlot.textContent = label;
    }
  }

  /** The More button: shown while the API has older pages; busy while one loads. */
  renderMore(history, loading, error = "") {
    if (this.more) {
      this.more.hidden = !history.next;
      this.more.disabled = loading;
      this.more.textContent = loading ? "Loading..." : "More";
      this.more.setAttribute("aria-busy", loading ? "true" : "false");
    }
    if (this.note && this.note.textContent !== error) this.note.textContent = error;
  }

  _fill(row, order) {
    const cell = (name) => row.querySelector(`[data-field="${name}"]`);
    const time = cell("submitted_at");
    const attr = isoForAttribute(order.submitted_at);
    if (time && time.dataset.value !== attr) {
      time.dataset.value = attr;
      const stamp = row.ownerDocument.createElement("time");
      stamp.dateTime = attr;
      stamp.textContent = timestamp(order.submitted_at);
      time.replaceChildren(stamp);
    }
    set(cell("symbol"), order.symbol, order.symbol);
    const side = cell("side");
    if (side && side.dataset.value !== order.side) {
      side.dataset.value = order.side;
      const tag = row.ownerDocument.createElement("span");
      tag.className = `tag tag-${order.side}`;
      tag.textContent = order.side;
      side.replaceChildren(tag);
    }
    set(cell("type"), order.type, order.type);
    set(cell("qty"), order.qty, qty(order.qty));
    set(cell("filled_qty"), order.filled_qty, qty(order.filled_qty));
    set(cell("filled_avg_price"), order.filled_avg_price, price(order.filled_avg_price), exactPrice(order.filled_avg_price));
    const value = orderValue(order);
    set(cell("value"), value, usd(value), value ? exactPrice(value) : null);
    const status = cell("status");
    if (status) {
      status.dataset.value = order.status;
      status.className = `status status-${order.status}`;
      const label = statusLabel(order.status);
      if (status.textContent !== label) status.textContent = label;
    }
    const reason = cell("reject_reason");
    if (reason) {
      const why = order.reject_reason || "";
      if (reason.textContent !== why) reason.textContent = why;
      reason.hidden = !why;
    }
  }
}

/**
 * Loads pages into the history and redraws: `refresh()` the newest page (after a reconnect),
 * `more()` the next older one. `fetchPage(path)` -> {ok, status, data}.
 */
export class OrderHistoryLoader {
  constructor({ history, view, firstUrl, fetchPage, logger = console, base = "http://localhost/" }) {
    this.history = history;
    this.view = view;
    this.firstUrl = firstUrl;
    this.fetchPage = fetchPage;
    this.logger = logger;
    this.base = base;
    this.loading = null;
  }

  /** An order finished: into the history at once. */
  note(order) {
    const outcome = this.history.upsert(order);
    if (outcome) this.view.render(this.history, { fresh: new Set(outcome === "added" ? [order.id] : []) });
    return outcome;
  }

  refresh() {
    return this._load(this.firstUrl, true);
  }

  more() {
    const path = sameOriginPath(this.history.next, this.base);
    if (!path) return Promise.resolve(false);
    return this._load(path, false);
  }

  _load(path, first) {
    if (this.loading) return this.loading;
    if (!first) this.view.renderMore(this.history, true);
    this.loading = (async () => {
      try {
        const response = await this.fetchPage(path);
        if (!response.ok || !response.data || !Array.isArray(response.data.results)) {
          throw new Error(`HTTP ${response.status}`);
        }
        const added = this.history.addPage(response.data, { first });
        this.view.render(this.history, { fresh: new Set(first ? added : []) });
        return true;
      } catch (error) {
        this.logger.warn(`[history] loading ${path} failed: ${error && error.message ? error.message : error}`);
        this.view.renderMore(this.history, false, first ? "" : "Could not load older orders. Try again.");
        return false;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}
