// Test doubles for the live client's environment: a controllable clock with timers, and a
// WebSocket that records what it is sent and lets the test play the server.

export class FakeTimers {
  constructor(start = 1_000_000) {
    this.time = start;
    this.nextId = 1;
    this.tasks = new Map(); // id -> {at, fn, every}
  }

  now = () => this.time;

  setTimeout = (fn, delay = 0) => {
    const id = this.nextId++;
    this.tasks.set(id, { at: this.time + Math.max(0, delay), fn, every: null });
    return id;
  };

  clearTimeout = (id) => {
    this.tasks.delete(id);
  };

  setInterval = (fn, every) => {
    const id = this.nextId++;
    this.tasks.set(id, { at: this.time + every, fn, every });
    return id;
  };

  clearInterval = (id) => {
    this.tasks.delete(id);
  };

  /** Run every timer due within `ms`, in time order, moving the clock as it goes. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let next = null;
      for (const [id, task] of this.tasks) {
        if (task.at <= end && (next === null || task.at < next[1].at)) next = [id, task];
      }
      if (!next) break;
      const [id, task] = next;
      this.time = Math.max(this.time, task.at);
      if (task.every) task.at = this.time + task.every; // after a jump, like browsers: no catch-up burst
      else this.tasks.delete(id);
      task.fn();
    }
    this.time = end;
  }

  /** Jump the clock without running timers (a laptop lid closed). */
  jump(ms) {
    this.time += ms;
  }

  pending() {
    return [...this.tasks.values()].filter((t) => !t.every).map((t) => t.at - this.time);
  }
}

export function makeSocketClass() {
  class FakeSocket {
    static instances = [];

    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      FakeSocket.instances.push(this);
    }

    send(text) {
      this.sent.push(JSON.parse(text));
    }

    close(code = 1000, reason = "") {
      this.closedWith = { code, reason };
      this.readyState = 3;
    }

    // --- the test plays the server ---
    open() {
      this.readyState = 1;
      this.onopen && this.onopen({});
    }

    receive(frame) {
      this.onmessage && this.onmessage({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
    }

    serverClose(code, reason = "") {
      this.readyState = 3;
      this.onclose && this.onclose({ code, reason });
    }
  }
  return FakeSocket;
}

export function quietLogger() {
  const lines = [];
  const log = (level) => (message) => lines.push([level, message]);
  return { lines, info: log("info"), warn: log("warn"), debug: log("debug"), error: log("error") };
}

const TS = "2026-11-25T22:27:34.857023Z";

export function position(symbol, overrides = {}) {
  return {
    symbol,
    qty: "10.000000",
    side: "long",
    avg_entry_price: "100.00000000",
    current_price: "110.00000000",
    lastday_price: "105.00000000",
    market_value: "1100.00",
    cost_basis: "1000.00",
    unrealized_pl: "100.00",
    unrealized_plpc: "0.100000",
    unrealized_intraday_pl: "50.00",
    unrealized_intraday_plpc: "0.047619",
    change_today: "0.047619",
    ...overrides,
  };
}

export function order(id, overrides = {}) {
  return {
    id,
    client_order_id: `c-${id}`,
    symbol: "AAPL",
    side: "buy",
    type: "market",
    time_in_force: "day",
    qty: "1.000000",
    filled_qty: "0.000000",
    filled_avg_price: null,
    limit_price: null,
    status: "new",
    reject_reason: "",
    submitted_at: TS,
    filled_at: null,
    canceled_at: null,
    expired_at: null,
    failed_at: null,
    updated_at: TS,
    ...overrides,
  };
}

export function fill(executionId, overrides = {}) {
  return {
    execution_id: executionId,
    order_id: "o1",
    symbol: "AAPL",
    side: "buy",
    qty: "1.000000",
    price: "110.00000000",
    executed_at: TS,
    ...overrides,
  };
}

export function account(overrides = {}) {
  return {
    cash: "1000.00",
    equity: "2100.00",
    last_equity: "2000.00",
    buying_power: "1000.00",
    long_market_value: "1100.00",
    short_market_value: "0.00",
    day_pl: "100.00",
    day_pl_pct: "0.050000",
    realized_pl: "0.00",
    realized_pl_today: "0.00",
    ...overrides,
  };
}

export function restSnapshot({ positions = [], orders = [], fills = [], acct = account(), seq = {} } = {}) {
  return {
    account: { ...acct, provider: "simulated", is_live: false, trading_day: "2026-11-25" },
    positions,
    open_orders: orders,
    recent_fills: fills,
    seq: { positions: 0, orders: 0, account: 0, ...seq },
  };
}

export function event(type, seq, data) {
  const channel = { position_update: "positions", order_update: "orders", trade_executed: "orders", account_update: "account" }[type];
  return { type, channel, seq, ts: TS, data };
}

export function batch(channel, fromSeq, seq, events) {
  return { type: "batch", channel, from_seq: fromSeq, seq, ts: TS, events };
}

export function snapshotFrame(channel, seq, data) {
  return { type: "snapshot", channel, seq, ts: TS, data };
}
