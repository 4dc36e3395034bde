// Order outcomes as toasts: a fill, a partial fill, a cancel or a reject shows bottom left (on
// a phone above the Buy/Sell bar) for a few seconds, and is announced through the page's
// polite live region. Each toast carries the page hooks data-toast and data-toast-kind.

import { parseDecimal } from "./decimal.js";
import { price, qty } from "./format.js";

export const TOAST_MS = 6_000;
export const ERROR_TOAST_MS = 10_000;
export const MAX_TOASTS = 4;
export const TOAST_KINDS = ["fill", "partial_fill", "canceled", "rejected", "error"];

function what(order) {
  return `${order.side} ${qty(order.qty)} ${order.symbol}`;
}

function capitalised(textValue) {
  return textValue.charAt(0).toUpperCase() + textValue.slice(1);
}

/** "Insufficient buying power." -> "insufficient buying power" (for "Rejected: ..."). */
function reason(order) {
  const raw = String(order.reject_reason || "").trim().replace(/\.$/, "");
  return raw ? raw.charAt(0).toLowerCase() + raw.slice(1) : "";
}

/**
 * The toast of an order's new status, or null when the status is not an outcome:
 * {kind, key, text, detail, spoken}. `text` is what the toast says ("Bought 3 AAPL @ $229.14"),
 * `spoken` the announcement (words, not symbols).
 */
export function orderToast(order) {
  const status = order.status;
  const verb = order.side === "buy" ? "Bought" : "Sold";
  const key = `${order.id}:${status}:${order.filled_qty}`;
  if (status === "filled") {
    const text = `${verb} ${qty(order.filled_qty)} ${order.symbol} @ ${price(order.filled_avg_price)}`;
    return { kind: "fill", key, text, detail: "", spoken: `Order filled: ${verb} ${qty(order.filled_qty)} ${order.symbol} at ${price(order.filled_avg_price)}.` };
  }
  if (status === "partially_filled") {
    const text = `Partially filled: ${verb.toLowerCase()} ${qty(order.filled_qty)} of ${qty(order.qty)} ${order.symbol} @ ${price(order.filled_avg_price)}`;
    return { kind: "partial_fill", key, text, detail: "", spoken: `Order partly filled: ${qty(order.filled_qty)} of ${qty(order.qty)} ${order.symbol} at ${price(order.filled_avg_price)}.` };
  }
  if (status === "canceled" || status === "expired") {
    const label = status === "canceled" ? "Canceled" : "Expired";
    const done = parseDecimal(String(order.filled_qty ?? ""));
    const filled = done && done.mag > 0n ? ` (${qty(order.filled_qty)} filled)` : "";
    const text = `${label}: ${what(order)}${filled}`;
    const detail = order.reject_reason || "";
    return { kind: "canceled", key, text, detail, spoken: `Order ${label.toLowerCase()}: ${what(order)}${filled}.${detail ? ` ${detail}` : ""}` };
  }
  if (status === "rejected") {
    const why = reason(order);
    const text = why ? `Rejected: ${why}` : `Rejected: ${what(order)}`;
    const detail = why ? capitalised(what(order)) : "";
    return { kind: "rejected", key, text, detail, spoken: `Order rejected: ${what(order)}.${why ? ` ${capitalised(why)}.` : ""}` };
  }
  return null;
}

/** The toast stack: newest at the bottom, at most MAX_TOASTS, each dismissed after a while. */
export class Toaster {
  constructor({ container, announce = () => undefined, timers = globalThis }) {
    this.container = container;
    this.announce = announce;
    this.timers = timers;
    this.shown = new Set(); // keys already toasted: a status is told once
  }

  /** {kind, text, detail?, spoken?, key?} -> the toast element (null if already shown). */
  show({ kind, text, detail = "", spoken = null, key = null }) {
    if (key !== null) {
      if (this.shown.has(key)) return null;
      this.shown.add(key);
    }
    const doc = this.container.ownerDocument;
    const toast = doc.createElement("div");
    toast.className = `toast toast-${kind}`;
    toast.dataset.toast = "";
    toast.dataset.toastKind = kind;
    const body = doc.createElement("div");
    body.className = "toast-body";
    const title = doc.createElement("p");
    title.className = "toast-text";
    title.textContent = text;
    body.append(title);
    if (detail) {
      const more = doc.createElement("p");
      more.className = "toast-detail";
      more.textContent = detail;
      body.append(more);
    }
    const close = doc.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", () => this.dismiss(toast));
    toast.append(body, close);
    this.container.append(toast);
    const all = this.container.querySelectorAll("[data-toast]");
    for (let i = 0; i < all.length - MAX_TOASTS; i += 1) all[i].remove();
    this.timers.setTimeout(() => this.dismiss(toast), kind === "error" || kind === "rejected" ? ERROR_TOAST_MS : TOAST_MS);
    this.announce(spoken || [text, detail].filter(Boolean).map((t) => (/[.!?]$/.test(t) ? t : `${t}.`)).join(" "));
    return toast;
  }

  dismiss(toast) {
    if (!toast.isConnected || toast.dataset.leaving) return;
    toast.dataset.leaving = "true";
    this.timers.setTimeout(() => toast.remove(), 200);
  }
}
