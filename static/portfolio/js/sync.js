// REST synchronisation around the socket: the fallback poll (30 s while the socket is down or
// the feature is off), the backup poll (300 s while live), a refetch when a section has been
// quiet for 60 s, and a position refresh when an order fills but its position does not follow.

import { FILL_STATUSES } from "./store_rows.js";
import { SECTION_REFETCH_MS } from "./staleness.js";

export const POLL_LIVE_MS = 300_000;
export const POLL_FALLBACK_MS = 30_000;
// An order that filled is followed by its position within milliseconds; after this, ask.
export const FILL_POSITION_GRACE_MS = 1_500;
// After placing an order without a live socket, look again soon rather than in 30 s.
export const AFTER_ORDER_REFRESH_MS = [1_000, 4_000];

/** live -> the 300 s backup poll; anything else (down, reconnecting, disabled) -> 30 s. */
export function pollInterval(mode) {
  return mode === "live" ? POLL_LIVE_MS : POLL_FALLBACK_MS;
}

export class SyncController {
  constructor({ fetchSnapshot, store, timers = globalThis, now = () => Date.now(), logger = console, onResult = () => undefined }) {
    this.fetchSnapshot = fetchSnapshot;
    this.store = store;
    this.timers = timers;
    this.now = now;
    this.logger = logger;
    this.onResult = onResult;
    this.mode = "fallback";
    this.pollTimer = null;
    this.inFlight = null;
    this.lastAttemptAt = now(); // the server-rendered page counts as a fetch
    this.lastSuccessAt = this.lastAttemptAt;
    this.lastError = null;
    this.pendingFills = []; // {symbol, at}
    this.stopped = false;
  }

  get interval() {
    return pollInterval(this.mode);
  }

  get nextPollAt() {
    return this.lastAttemptAt + this.interval;
  }

  start() {
    this._schedule();
  }

  stop() {
    this.stopped = true;
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** "live" while the socket streams; "fallback" otherwise. Switching reschedules the poll. */
  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this._schedule();
  }

  /** Fetch the REST snapshot now (deduplicated while one is in flight). */
  refresh(reason = "manual") {
    if (this.inFlight) return this.inFlight;
    this.lastAttemptAt = this.now();
    this.inFlight = (async () => {
      try {
        const snapshot = await this.fetchSnapshot();
        // Decided on arrival: a socket that went live meanwhile may hold newer data.
        this.store.applyRestSnapshot(snapshot, { authoritative: this.mode !== "live" });
        this.lastSuccessAt = this.now();
        this.lastError = null;
        this.onResult({ ok: true, reason, snapshot });
        return true;
      } catch (error) {
        this.lastError = error;
        this.logger.warn(`[sync] snapshot refresh (${reason}) failed: ${error && error.message ? error.message : error}`);
        this.onResult({ ok: false, reason, error });
        return false;
      } finally {
        this.inFlight = null;
        this._schedule();
      }
    })();
    return this.inFlight;
  }

  /** Socket changes: an order that filled should bring its position along. */
  noteChange(change) {
    if (change.source !== "socket") return;
    for (const transition of change.transitions) {
      if (!FILL_STATUSES.has(transition.to) || transition.from === transition.to) continue;
      if (change.positions.has(transition.symbol) || change.removedPositions.has(transition.symbol)) continue;
      this.pendingFills.push({ symbol: transition.symbol, at: this.now() });
    }
  }

  /** An order was placed through the ticket; without a socket, look again shortly. */
  orderPlaced() {
    if (this.mode === "live") return;
    for (const delay of AFTER_ORDER_REFRESH_MS) {
      this.timers.setTimeout(() => this.refresh("order placed"), delay);
    }
  }

  /** Called every second. */
  tick() {
    if (this.stopped) return;
    const now = this.now();
    const due = this.pendingFills.filter((fill) => now - fill.at >= FILL_POSITION_GRACE_MS);
    if (due.length) {
      this.pendingFills = this.pendingFills.filter((fill) => now - fill.at < FILL_POSITION_GRACE_MS);
      const missing = due.filter((fill) => this.store.symbolAge(fill.symbol, now) >= now - fill.at);
      if (missing.length) {
        this.refresh(`fill without position update (${missing.map((f) => f.symbol).join(", ")})`);
        return;
      }
    }
    if (this.mode === "live" && now - this.lastAttemptAt >= SECTION_REFETCH_MS) {
      const quiet = this.store.clock.quiet(now, SECTION_REFETCH_MS);
      if (quiet.length) this.refresh(`no update for 60 s: ${quiet.join(", ")}`);
    }
  }

  _schedule() {
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.stopped) return;
    const delay = Math.max(0, this.nextPollAt - this.now());
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      this.refresh(this.mode === "live" ? "backup poll" : "fallback poll");
    }, delay);
  }
}
