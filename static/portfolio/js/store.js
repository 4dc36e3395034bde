// The client-side store: the REST snapshot plus socket updates, merged by symbol and order id,
// with query-cache semantics (every piece knows when it was last confirmed). Listeners get a
// change set naming only the rows and fields that changed, so only those are re-rendered.

import { classifySeq } from "./seq.js";
import { priceFeedState, SectionClock } from "./staleness.js";
import {
  ACCOUNT_FIELDS,
  FILL_STATUSES,
  MAX_FILLS,
  ORDER_FIELDS,
  POSITION_FIELDS,
  SECTIONS,
  TERMINAL_ORDER_STATUSES,
  diffFields,
  isClosedPosition,
  isEmptyChange,
  isOpenOrder,
  newChange,
} from "./store_rows.js";

export class PortfolioStore {
  constructor({ now = () => Date.now() } = {}) {
    this.now = now;
    const start = now();
    this.account = null;
    this.positions = new Map();
    this.orders = new Map();
    this.fills = [];
    this.seq = { positions: 0, orders: 0, account: 0 };
    this.resyncing = new Set();
    this.closedOrders = new Set();
    this.clock = new SectionClock(SECTIONS, start);
    this.symbolUpdatedAt = new Map();
    this.priceMovedAt = new Map();
    this.watchingSince = start;
    this.confirmedAt = start;
    this.listeners = new Set();
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The server confirmed the data is current (any socket frame, any REST success). */
  confirm(at = this.now()) {
    if (at > this.confirmedAt) this.confirmedAt = at;
  }

  // --- Reads -----------------------------------------------------------------------------------

  sortedPositions() {
    return [...this.positions.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  sortedOrders() {
    return [...this.orders.values()].sort((a, b) => Date.parse(b.submitted_at) - Date.parse(a.submitted_at));
  }

  sectionAge(section, now = this.now()) {
    return this.clock.age(section, now);
  }

  symbolAge(symbol, now = this.now()) {
    const at = this.symbolUpdatedAt.get(symbol);
    return at === undefined ? Infinity : now - at;
  }

  priceFeed(symbol, now = this.now()) {
    return priceFeedState(now, this.priceMovedAt.get(symbol) ?? null, this.watchingSince);
  }

  // --- Writes ----------------------------------------------------------------------------------

  /** The server-rendered page's snapshot (the REST shape); no change is emitted. */
  hydrate(snapshot) {
    const change = newChange("hydrate");
    this._replaceAll(snapshot, change, this.now());
    this.seq = { ...this.seq, ...snapshot.seq };
  }

  /**
   * GET /api/portfolio/snapshot/. While the socket streams, a channel is taken only if the
   * response is at least as new as the store (it may have crossed newer events in flight).
   * Without a live socket (`authoritative`), the server's answer is the truth, even with a
   * lower seq (a reset server).
   */
  applyRestSnapshot(snapshot, { authoritative = false } = {}) {
    const at = this.now();
    const change = newChange("rest");
    const seq = snapshot.seq || {};
    const take = (channel) => authoritative || !(seq[channel] < this.seq[channel]);
    const nextSeq = (channel) => (authoritative ? seq[channel] ?? 0 : Math.max(this.seq[channel], seq[channel] ?? 0));
    if (take("positions")) {
      this._replacePositions(snapshot.positions, change, at);
      this.seq.positions = nextSeq("positions");
    }
    if (take("orders")) {
      this._replaceOrders(snapshot.open_orders, change, at);
      this._replaceFills(snapshot.recent_fills, change);
      this.seq.orders = nextSeq("orders");
    }
    if (take("account")) {
      this._mergeAccount(snapshot.account, change);
      this.seq.account = nextSeq("account");
    }
    // Even a channel the store already had newer data for is confirmed current.
    this.clock.touchAll(at);
    for (const symbol of this.positions.keys()) this.symbolUpdatedAt.set(symbol, at);
    for (const section of SECTIONS) change.sections.add(section);
    this.confirm(at);
    this._emit(change);
    return change;
  }

  /**
   * A socket `snapshot` frame: the channel's whole state at `seq`, taken as it is. Even one
   * older than a REST fetch is safe: the socket delivers every event after its `seq`, so the
   * store converges; and a seq that went backwards (a reset server) cannot freeze the page.
   */
  applySnapshotFrame(frame) {
    const at = this.now();
    const change = newChange("snapshot");
    const { channel } = frame;
    this.resyncing.delete(channel);
    if (channel === "positions") this._replacePositions(frame.data.positions, change, at);
    if (channel === "orders") {
      this._replaceOrders(frame.data.orders, change, at);
      this._replaceFills(frame.data.fills, change);
    }
    if (channel === "account") this._mergeAccount(frame.data.account, change);
    this.seq[channel] = frame.seq;
    this._touchChannel(channel, change, at);
    if (channel === "positions") for (const symbol of this.positions.keys()) this.symbolUpdatedAt.set(symbol, at);
    this._emit(change);
    return change;
  }

  /** Start over on `channel` after a gap: its events are dropped until its snapshot arrives. */
  markResyncing(channel) {
    this.resyncing.add(channel);
  }

  /**
   * A sequenced event or batch. Returns "applied", "duplicate", "gap" (the caller
   * re-subscribes the channel) or "resyncing" (dropped while a snapshot is awaited).
   */
  applyEvent(frame) {
    const { channel } = frame;
    if (this.resyncing.has(channel)) return "resyncing";
    const verdict = classifySeq(this.seq[channel], frame);
    if (verdict === "duplicate") return "duplicate";
    if (verdict === "gap") {
      this.resyncing.add(channel);
      return "gap";
    }
    const at = this.now();
    const change = newChange("socket");
    const last = this.seq[channel];
    const events = (frame.type === "batch" ? frame.events : [frame])
      .filter((event) => event.seq > last)
      .sort((a, b) => a.seq - b.seq);
    for (const event of events) this._applyOne(event, change, at);
    this.seq[channel] = frame.seq;
    this._touchChannel(channel, change, at);
    this._emit(change);
    return "applied";
  }

  /** The order a POST /api/orders/ returned, shown at once unless the stream got further. */
  addPlacedOrder(order) {
    if (this.orders.has(order.id) || this.closedOrders.has(order.id) || !isOpenOrder(order)) return null;
    const change = newChange("placed");
    this._upsertOrder(order, change);
    this._emit(change);
    return change;
  }

  // --- Internals -------------------------------------------------------------------------------

  _applyOne(event, change, at) {
    if (event.type === "position_update") {
      this._upsertPosition(event.data, change, at);
      this.symbolUpdatedAt.set(event.data.symbol, at);
    } else if (event.type === "order_update") {
      this._upsertOrder(event.data, change);
    } else if (event.type === "trade_executed") {
      this._addFill(event.data, change);
    } else if (event.type === "account_update") {
      this._mergeAccount(event.data, change);
    }
  }

  _touchChannel(channel, change, at) {
    const sections = channel === "orders" ? ["orders", "fills"] : [channel];
    for (const section of sections) {
      this.clock.touch(section, at);
      change.sections.add(section);
    }
  }

  _replaceAll(snapshot, change, at) {
    this._replacePositions(snapshot.positions || [], change, at);
    this._replaceOrders(snapshot.open_orders || [], change, at);
    this._replaceFills(snapshot.recent_fills || [], change);
    if (snapshot.account) this._mergeAccount(snapshot.account, change);
    this.clock.touchAll(at);
    for (const symbol of this.positions.keys()) this.symbolUpdatedAt.set(symbol, at);
  }

  _upsertPosition(row, change, at) {
    const { symbol } = row;
    const before = this.positions.get(symbol);
    if (isClosedPosition(row)) {
      if (before) {
        this.positions.delete(symbol);
        change.positions.delete(symbol);
        change.removedPositions.add(symbol);
      }
      return;
    }
    const fields = diffFields(before, row, POSITION_FIELDS);
    this.positions.set(symbol, { ...row });
    if (before && Object.keys(fields).length === 0) return;
    if (before && "current_price" in fields) this.priceMovedAt.set(symbol, at);
    change.removedPositions.delete(symbol);
    const previous = change.positions.get(symbol);
    change.positions.set(symbol, {
      row: this.positions.get(symbol),
      fields: { ...(previous ? previous.fields : {}), ...fields },
      isNew: previous ? previous.isNew : !before,
    });
  }

  _replacePositions(rows, change, at) {
    const seen = new Set();
    for (const row of rows) {
      seen.add(row.symbol);
      this._upsertPosition(row, change, at);
    }
    for (const symbol of [...this.positions.keys()]) {
      if (!seen.has(symbol)) {
        this.positions.delete(symbol);
        change.removedPositions.add(symbol);
      }
    }
  }

  _upsertOrder(row, change) {
    const before = this.orders.get(row.id);
    const from = before ? before.status : this.closedOrders.has(row.id) ? "closed" : null;
    if (from !== row.status && from !== "closed") {
      change.transitions.push({ id: row.id, symbol: row.symbol, side: row.side, from, to: row.status, order: row });
    }
    if (!isOpenOrder(row)) {
      this.closedOrders.add(row.id);
      if (before) {
        this.orders.delete(row.id);
        change.orders.delete(row.id);
        change.removedOrders.add(row.id);
      }
      return;
    }
    if (this.closedOrders.has(row.id)) return; // finished orders never reopen
    const fields = diffFields(before, row, ORDER_FIELDS);
    this.orders.set(row.id, { ...row });
    if (before && Object.keys(fields).length === 0) return;
    const previous = change.orders.get(row.id);
    change.orders.set(row.id, {
      row: this.orders.get(row.id),
      fields: { ...(previous ? previous.fields : {}), ...fields },
      isNew: previous ? previous.isNew : !before,
    });
  }

  _replaceOrders(rows, change) {
    const seen = new Set();
    for (const row of rows) {
      seen.add(row.id);
      this.closedOrders.delete(row.id); // the server says it is open: believe the snapshot
      this._upsertOrder(row, change);
    }
    for (const id of [...this.orders.keys()]) {
      if (!seen.has(id)) {
        this.orders.delete(id);
        this.closedOrders.add(id);
        change.removedOrders.add(id);
      }
    }
  }

  _addFill(row, change) {
    if (this.fills.some((fill) => fill.execution_id === row.execution_id)) return;
    this.fills = [{ ...row }, ...this.fills]
      .sort((a, b) => Date.parse(b.executed_at) - Date.parse(a.executed_at))
      .slice(0, MAX_FILLS);
    if (this.fills.some((fill) => fill.execution_id === row.execution_id)) change.fills.push(row);
  }

  _replaceFills(rows, change) {
    const known = new Set(this.fills.map((fill) => fill.execution_id));
    const next = rows.map((row) => ({ ...row })).slice(0, MAX_FILLS);
    const same =
      next.length === this.fills.length && next.every((fill, i) => fill.execution_id === this.fills[i].execution_id);
    this.fills = next;
    if (same) return;
    change.fillsReset = true;
    for (const fill of next) if (!known.has(fill.execution_id)) change.fills.push(fill);
  }

  _mergeAccount(row, change) {
    const before = this.account;
    const fields = diffFields(before, row, ACCOUNT_FIELDS);
    this.account = { ...(before || {}), ...row };
    if (before && Object.keys(fields).length === 0) return;
    change.account = {
      row: this.account,
      fields: { ...(change.account ? change.account.fields : {}), ...fields },
    };
  }

  _emit(change) {
    for (const listener of this.listeners) listener(change, this);
  }
}
