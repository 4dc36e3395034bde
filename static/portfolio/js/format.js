// Display formats, character for character those of the server's first paint
// (trading/templatetags/trading_format.py, and templates/portfolio/_price.html for prices),
// so a value rendered by the server and the same value rendered here look identical.

import { groupedMagnitude, parseDecimal, roundHalfEven, roundHalfUp, shiftDecimal, significantPlaces, signOf } from "./decimal.js";

export const MISSING = "\u2014";

function parse(value) {
  return value === null || value === undefined || value === "" ? null : parseDecimal(String(value));
}

/** "-1234.5" -> "-$1,234.50". */
export function usd(value) {
  const amount = parse(value);
  if (!amount) return MISSING;
  return `${amount.neg ? "-" : ""}$${groupedMagnitude(amount, 2)}`;
}

/** P&L with an explicit sign: "+$12.00", "-$3.10", "$0.00". */
export function signedUsd(value) {
  const amount = parse(value);
  if (!amount) return MISSING;
  return signOf(amount) > 0 ? `+${usd(value)}` : usd(value);
}

/** A fraction as a signed percentage: "0.012345" -> "+1.23%". */
export function signedPct(value) {
  const fraction = parse(value);
  if (!fraction) return MISSING;
  const percent = shiftDecimal(fraction, 2);
  if (roundHalfEven(percent, 2).mag === 0n) return "0.00%";
  return `${percent.neg ? "-" : "+"}${groupedMagnitude(percent, 2)}%`;
}

/**
 * A price as a trader reads it: 2 decimals, 4 below $1, rounded half up like the template's
 * floatformat: "$213.35" for 213.34754717, "$0.1235". The exact value goes in a tooltip.
 */
export function price(value) {
  const amount = parse(value);
  if (!amount) return MISSING;
  const places = amount.neg || amount.mag < 10n ** BigInt(amount.scale) ? 4 : 2;
  return `${amount.neg ? "-" : ""}$${groupedMagnitude(amount, places, roundHalfUp)}`;
}

/** The exact price, for tooltips: two decimals at least, all the digits it has: "$213.34754717". */
export function exactPrice(value) {
  const amount = parse(value);
  if (!amount) return MISSING;
  const places = Math.max(2, significantPlaces(amount));
  return `${amount.neg ? "-" : ""}$${groupedMagnitude(amount, places)}`;
}

/** Shares without trailing zeros: "10", "0.5", "-1,250". */
export function qty(value) {
  const amount = parse(value);
  if (!amount) return MISSING;
  const places = significantPlaces(amount);
  const sign = amount.neg || amount.negZero ? "-" : "";
  return `${sign}${groupedMagnitude(amount, places)}`;
}

/** CSS class for the sign of a P&L figure: up, down or flat. */
export function trend(value) {
  const amount = parse(value);
  if (!amount) return "flat";
  const sign = signOf(amount);
  return sign > 0 ? "up" : sign < 0 ? "down" : "flat";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n) {
  return String(n).padStart(2, "0");
}

/** Django's date:"M j, H:i:s" in UTC (the server's TIME_ZONE): "Nov 5, 09:03:07". */
export function timestamp(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return MISSING;
  return `${MONTHS[moment.getUTCMonth()]} ${moment.getUTCDate()}, ${pad(moment.getUTCHours())}:${pad(
    moment.getUTCMinutes(),
  )}:${pad(moment.getUTCSeconds())}`;
}

/** Django's date:"c" for an aware UTC datetime: "2026-11-25T22:27:34.871486+00:00". */
export function isoForAttribute(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  return String(iso).replace(/Z$/, "+00:00");
}

/** "pending_new" -> "Pending new" (the labels of trading.enums.OrderStatus). */
export function statusLabel(status) {
  const words = String(status).replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** An age in milliseconds, as people say it: "just now", "12s ago", "3 min ago", "2 h ago". */
export function ago(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "never";
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 2) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}
