// Screen-reader announcements through one aria-live="polite" region, at a pace a listener can
// follow: events (fills, order changes, connection) at most one every 4 s, P&L at most every
// 30 s and only its latest value, since a ticking number read aloud every second is noise.

export const EVENT_GAP_MS = 4_000;
export const PL_GAP_MS = 30_000;

export class Announcer {
  constructor({ region, timers = globalThis, now = () => Date.now(), eventGapMs = EVENT_GAP_MS, plGapMs = PL_GAP_MS }) {
    this.region = region;
    this.timers = timers;
    this.now = now;
    this.eventGapMs = eventGapMs;
    this.plGapMs = plGapMs;
    this.queue = [];
    this.pendingPl = null;
    this.lastSpokenAt = -Infinity;
    this.lastPlAt = -Infinity;
    this.timer = null;
    this.spoken = []; // what was announced, newest last (for tests and debugging)
  }

  /** A discrete event: queued, never dropped (identical consecutive messages merge). */
  event(text) {
    if (this.queue[this.queue.length - 1] !== text) this.queue.push(text);
    this._pump();
  }

  /** The latest P&L; replaces any P&L message still waiting. */
  pl(text) {
    this.pendingPl = text;
    this._pump();
  }

  _nextDue() {
    const now = this.now();
    const eventAt = this.lastSpokenAt + this.eventGapMs;
    if (this.queue.length) return Math.max(now, eventAt);
    if (this.pendingPl !== null) return Math.max(now, eventAt, this.lastPlAt + this.plGapMs);
    return null;
  }

  _pump() {
    if (this.timer !== null) return;
    const due = this._nextDue();
    if (due === null) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this._speak();
      this._pump();
    }, due - this.now());
  }

  _speak() {
    const now = this.now();
    let text;
    if (this.queue.length) {
      text = this.queue.shift();
    } else if (this.pendingPl !== null && now >= this.lastPlAt + this.plGapMs) {
      text = this.pendingPl;
      this.pendingPl = null;
      this.lastPlAt = now;
    } else {
      return;
    }
    this.lastSpokenAt = now;
    this.spoken.push(text);
    // Clear, then set: a repeated message is still announced.
    this.region.textContent = "";
    this.timers.setTimeout(() => {
      this.region.textContent = text;
    }, 50);
  }
}
