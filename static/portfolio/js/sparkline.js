// The day's equity as a chart. The server records every account's equity once a minute and
// serves the day as GET /api/account/history/ (Alpaca's portfolio-history shape), so the chart
// is the same on every device and after a reload; the page continues it live from account
// updates and fetches it again after a reconnect. Drawn against the previous close, with a few
// time labels in UTC (like every time on the page). Drawing uses floats; the numbers shown as
// text never do.

import { isDecimalString } from "./decimal.js";

export const BUCKET_MS = 60_000; // the server's 1Min timeframe
export const HISTORY_REFRESH_MS = 300_000; // refetched at most this often without a reconnect
const MINUTE = 60_000;
const TICK_STEPS_MIN = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720];
const SVG = "http://www.w3.org/2000/svg";

/** The API's answer -> [[epochMs, "equity"], ...], oldest first; entries that are not valid are dropped. */
export function historyPoints(data) {
  if (!data || !Array.isArray(data.timestamp) || !Array.isArray(data.equity)) return [];
  const points = [];
  for (let i = 0; i < data.timestamp.length; i += 1) {
    const stamp = data.timestamp[i];
    const equity = data.equity[i];
    if (Number.isFinite(stamp) && isDecimalString(equity)) points.push([stamp * 1000, equity]);
  }
  return points.sort((a, b) => a[0] - b[0]);
}

/** The server's series, then the live points it does not reach yet. */
export function mergeSeries(server, live) {
  if (!server.length) return live.slice();
  const end = server[server.length - 1][0];
  return [...server, ...live.filter((point) => point[0] > end)];
}

/** Today's equity: the server's history plus what the stream added since. */
export class IntradaySeries {
  constructor({ now = () => Date.now() } = {}) {
    this.now = now;
    this.points = []; // [[epochMs, "equity"], ...]
    this.source = "none"; // "server" once a history arrived; "live" while only the stream drew
    this.skew = 0; // the server's clock minus this one, from the last history
    this.fetchedAt = null;
  }

  /** GET /api/account/history/'s answer, received at `receivedAt`. False if it had no points. */
  applyHistory(data, receivedAt = this.now()) {
    const server = historyPoints(data);
    if (!server.length) return false;
    // Live points the server's answer does not reach yet stay, if their times are the server's
    // (a history arrived before); before that, their times were only this clock's guess.
    const live = this.source === "server" ? this.points : [];
    // The last point is the server's "now": the offset of its clock, to place live points.
    this.skew = server[server.length - 1][0] - receivedAt;
    this.points = mergeSeries(server, live);
    this.source = "server";
    this.fetchedAt = receivedAt;
    return true;
  }

  /** A live equity, at the server's time: one point a minute, the newest moving within its minute. */
  add(equity, at = this.now() + this.skew) {
    if (!isDecimalString(equity)) return false;
    const count = this.points.length;
    const last = this.points[count - 1];
    if (last && at < last[0]) return false;
    if (count >= 2 && Math.floor(last[0] / BUCKET_MS) === Math.floor(at / BUCKET_MS)) {
      this.points[count - 1] = [at, equity];
    } else {
      this.points.push([at, equity]);
    }
    if (this.source === "none") this.source = "live";
    return true;
  }

  /** A new trading day: start over (and fetch the new day's history). */
  reset() {
    this.points = [];
    this.source = "none";
    this.fetchedAt = null;
  }
}

/** "HH:MM" in UTC. */
export function clockLabel(ms) {
  const moment = new Date(ms);
  return `${String(moment.getUTCHours()).padStart(2, "0")}:${String(moment.getUTCMinutes()).padStart(2, "0")}`;
}

/**
 * A few round times between t0 and t1 (epoch ms) for the axis: at most `maxTicks`, at the
 * smallest round step (1, 2, 5, 10, 15, 30 min, 1 h, ...) that fits; the ends themselves
 * when the span is shorter than two steps.
 */
export function timeTicks(t0, t1, maxTicks = 5) {
  if (!(t1 > t0)) return [t1];
  for (const step of TICK_STEPS_MIN) {
    const ms = step * MINUTE;
    const first = Math.ceil(t0 / ms) * ms;
    const count = first > t1 ? 0 : Math.floor((t1 - first) / ms) + 1;
    if (count > maxTicks) continue;
    if (count >= 2) return Array.from({ length: count }, (_, i) => first + i * ms);
    break;
  }
  return clockLabel(t0) === clockLabel(t1) ? [t1] : [t0, t1];
}

/**
 * SVG geometry for points [[t, "equity"], ...] against `baseline` (the previous close):
 * {line, area, baseY, last: [x, y], x(t)} in a width x height box, or null without points.
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
  return { line, area, baseY, last: [round(last[0]), round(last[1])], x: (t) => round(x(t)), t0, t1 };
}

const AXIS_HEIGHT = 16; // room under the plot for the time labels
const LABEL_EDGE = 18; // labels this close to an edge are anchored to it, not centred

/** Draws the series into the page's <svg> at its real pixel size (lines, baseline, dot, time axis). */
export class SparklineView {
  constructor(svg) {
    this.svg = svg;
    this.doc = svg.ownerDocument;
    this.line = svg.querySelector("[data-spark-line]");
    this.area = svg.querySelector("[data-spark-area]");
    this.base = svg.querySelector("[data-spark-base]");
    this.dot = svg.querySelector("[data-spark-dot]");
    this.ticks = svg.querySelector("[data-spark-ticks]");
    this.title = svg.querySelector("title");
    this.args = null;
    const Observer = this.doc.defaultView && this.doc.defaultView.ResizeObserver;
    if (Observer) {
      this.width = 0;
      new Observer(() => {
        const { width } = this._size();
        if (width !== this.width && this.args) this.render(...this.args);
      }).observe(svg);
    }
  }

  _size() {
    const box = this.svg.getBoundingClientRect();
    return { width: Math.max(40, Math.round(box.width)), height: Math.max(24, Math.round(box.height)) };
  }

  render(points, baseline, { trend, label, source = "" }) {
    this.args = [points, baseline, { trend, label, source }];
    const { width, height } = this._size();
    this.width = width;
    const axis = this.ticks ? AXIS_HEIGHT : 0;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.dataset.points = String(points.length);
    if (source) this.svg.dataset.source = source;
    for (const name of ["up", "down", "flat"]) this.svg.classList.toggle(name, name === trend);
    if (this.title.textContent !== label) this.title.textContent = label;
    const geometry = sparklineGeometry(points, baseline, { width, height: height - axis, pad: 3 });
    if (!geometry) return;
    this.line.setAttribute("d", geometry.line);
    this.area.setAttribute("d", geometry.area);
    this.base.setAttribute("x1", "0");
    this.base.setAttribute("x2", String(width));
    this.base.setAttribute("y1", geometry.baseY);
    this.base.setAttribute("y2", geometry.baseY);
    this.dot.setAttribute("cx", geometry.last[0]);
    this.dot.setAttribute("cy", geometry.last[1]);
    if (this.ticks) this._axis(geometry, width, height);
  }

  _axis(geometry, width, height) {
    const maxTicks = Math.max(2, Math.min(6, Math.floor(width / 70)));
    const marks = [];
    for (const at of timeTicks(geometry.t0, geometry.t1, maxTicks)) {
      const x = geometry.x(at);
      const group = this.doc.createElementNS(SVG, "g");
      group.setAttribute("class", "sparkline-tick");
      group.setAttribute("data-spark-tick", String(Math.round(at / 1000)));
      const tick = this.doc.createElementNS(SVG, "line");
      tick.setAttribute("x1", x);
      tick.setAttribute("x2", x);
      tick.setAttribute("y1", height - AXIS_HEIGHT);
      tick.setAttribute("y2", height - AXIS_HEIGHT + 3);
      const text = this.doc.createElementNS(SVG, "text");
      text.setAttribute("x", x);
      text.setAttribute("y", height - 3);
      text.setAttribute("text-anchor", x < LABEL_EDGE ? "start" : x > width - LABEL_EDGE ? "end" : "middle");
      text.textContent = clockLabel(at);
      group.append(tick, text);
      marks.push(group);
    }
    this.ticks.replaceChildren(...marks);
  }
}
