// When a change deserves the trader's attention. Prices tick every second; a figure that
// flashed or shook on every tick would teach the eye to ignore it. A change is meaningful
// when a trade caused it, or when the figure moved at least $1 and at least 0.05 % of its base
// since the page last drew attention to it (so a slow drift is shown once it adds up).
// Exact decimals throughout: the same arithmetic as the figures on screen.

import { absDecimal, compareDecimal, multiplyDecimal, parseDecimal, subtractDecimal } from "./decimal.js";

export const MIN_MOVE_USD = "1";
export const MIN_MOVE_RATIO = "0.0005"; // 0.05 %

function parse(value) {
  return value === null || value === undefined ? null : parseDecimal(String(value));
}

/**
 * Whether `from` -> `to` is at least $1 and at least 0.05 % of |base| (default: `from`).
 * A value that appears or disappears is meaningful; non-numbers compare as text.
 */
export function isMeaningfulMove(from, to, base = from) {
  const a = parse(from);
  const b = parse(to);
  if (!a || !b) return String(from ?? "") !== String(to ?? "");
  const move = absDecimal(subtractDecimal(b, a));
  if (compareDecimal(move, parseDecimal(MIN_MOVE_USD)) < 0) return false;
  const reference = parse(base) || a;
  const floor = multiplyDecimal(absDecimal(reference), parseDecimal(MIN_MOVE_RATIO));
  return compareDecimal(move, floor) >= 0;
}

/** "up", "down", "changed" (not numbers) or null (equal). */
export function changeDirection(from, to) {
  const a = parse(from);
  const b = parse(to);
  if (a && b) {
    const order = compareDecimal(b, a);
    return order > 0 ? "up" : order < 0 ? "down" : null;
  }
  return String(from ?? "") === String(to ?? "") ? null : "changed";
}

/** The value each figure (a key: usually its cell) had when the page last drew attention to it. */
export class AttentionMarks {
  constructor() {
    this.marks = new WeakMap();
  }

  /** The mark; a figure seen for the first time is marked at `current`. */
  get(key, current) {
    if (!this.marks.has(key)) this.marks.set(key, current);
    return this.marks.get(key);
  }

  set(key, value) {
    this.marks.set(key, value);
  }
}
