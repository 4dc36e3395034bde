// The day's equity as a sparkline. The server keeps no intraday equity series, so this page
// records what it sees (one point per 15 s) in localStorage for the trading day, and draws it
// against the previous close. Drawing uses floats; the numbers shown as text never do.

export const SAMPLE_MS = 15_000;
export const MAX_POINTS = 1_600; // a 6.5 h session at one point per 15 s

export class EquityHistory {
  constructor({ storage = null, key, now = () => Date.now() }) {
    this.storage = storage;
    this.key = key;
    this.now = now;
    this.points = this._load(); // [[epochMs, "equity"], ...]
    this.dirty = false;
  }

  _load() {
    if (!this.storage || !this.key) return [];
    try {
      const parsed = JSON.parse(this.storage.getItem(this.key) || "[]");
      return Array.isArray(parsed)
        ? parsed.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && typeof p[1] === "string")
        : [];
    } catch {
      return [];
    }
  }

  /** Record the equity at `at`; within a sample window the last point just moves. */
  add(at, equity) {
    const last = this.points[this.points.length - 1];
    const previous = this.points[this.points.length - 2];
    if (last && at < last[0]) return;
    if (last && previous && at - previous[0] < SAMPLE_MS) {
      last[0] = at;
      last[1] = equity;
    } else {
      this.points.push([at, equity]);
      this.dirty = true;
    }
    if (this.points.length > MAX_POINTS) {
      // Keep the first point (the day's start) and thin out the rest evenly.
      this.points = [this.points[0], ...this.points.slice(1).filter((_, i) => i % 2 === 1)];
    }
    if (this.dirty) this.save();
  }

  save() {
    if (!this.storage || !this.key) return;
    try {
      this.storage.setItem(this.key, JSON.stringify(this.points));
      this.dirty = false;
    } catch {
      // Storage full or blocked: the sparkline simply starts over next time.
    }
  }
}

/**
 * SVG geometry for points [[t, "equity"], ...] against `baseline` (the previous close):
 * {line, area, baseY, last: [x, y]} in a width x height box, or null without points.
 */
export function sparklineGeometry(points, baseline, { width = 120, height = 32, pad = 2 } = {}) {
  if (!points.length) return null;
  const values = points.map((p) => Number(p[1]));
  const base = Number(baseline);
  const lo = Math.min(...values, Number.isFinite(base) ? base : Infinity);
  const hi = Math.max(...values, Number.isFinite(base) ? base : -Infinity);
  const span = hi - lo || 1;
  const t0 = points[0][0];
  const t1 = points[points.length - 1][0];
  const x = (t) => (t1 === t0 ? width - pad : pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad));
  const y = (v) => pad + (1 - (v - lo) / span) * (height - 2 * pad);
  const coords = points.map((p, i) => [x(p[0]), y(values[i])]);
  if (coords.length === 1) coords.unshift([pad, coords[0][1]]);
  const round = (n) => Math.round(n * 10) / 10;
  const line = coords.map(([cx, cy], i) => `${i ? "L" : "M"}${round(cx)} ${round(cy)}`).join(" ");
  const baseY = round(Number.isFinite(base) ? y(base) : height / 2);
  const first = coords[0];
  const last = coords[coords.length - 1];
  const area = `${line} L${round(last[0])} ${baseY} L${round(first[0])} ${baseY} Z`;
  return { line, area, baseY, last: [round(last[0]), round(last[1])] };
}

/** Draws the history into the page's <svg> (lines, baseline, last-point dot, a text label). */
export class SparklineView {
  constructor(svg) {
    this.svg = svg;
    const box = svg.viewBox.baseVal;
    this.size = { width: box.width, height: box.height, pad: 3 };
    this.line = svg.querySelector("[data-spark-line]");
    this.area = svg.querySelector("[data-spark-area]");
    this.base = svg.querySelector("[data-spark-base]");
    this.dot = svg.querySelector("[data-spark-dot]");
    this.title = svg.querySelector("title");
  }

  render(points, baseline, { trend, label }) {
    const geometry = sparklineGeometry(points, baseline, this.size);
    if (!geometry) return;
    this.line.setAttribute("d", geometry.line);
    this.area.setAttribute("d", geometry.area);
    this.base.setAttribute("y1", geometry.baseY);
    this.base.setAttribute("y2", geometry.baseY);
    this.dot.setAttribute("cx", geometry.last[0]);
    this.dot.setAttribute("cy", geometry.last[1]);
    for (const name of ["up", "down", "flat"]) this.svg.classList.toggle(name, name === trend);
    if (this.title.textContent !== label) this.title.textContent = label;
  }
}
