// The order ticket (buy/sell, market/limit, quantity, limit price) and the cancel buttons of
// open orders: validation in the browser first, then the REST API, whose field errors are shown
// next to the field they concern. "Order sent" turns into the order's outcome when it comes;
// a network error is cleared once the page reaches the server again.

import { requestJson } from "./api.js";
import { multiplyDecimal, parseDecimal, roundHalfEven, decimalToString } from "./decimal.js";
import { qty as formatQty, price as formatPrice, usd } from "./format.js";

const SYMBOL_RE = /^[A-Z][A-Z0-9.-]{0,15}$/;
const NUMBER_RE = /^\d+(?:\.(\d+))?$/;
const FIELDS = ["symbol", "qty", "limit_price"];
const NETWORK_ERROR = "Could not reach the server. Send again: the order will not be placed twice.";
const CANCEL_NETWORK_ERROR = "Could not reach the server; try again.";
const OUTCOME_TONES = { fill: "ok", partial_fill: "ok", canceled: "warn", rejected: "error" };

function checkAmount(text, { noun, places, missing }) {
  if (!text) return missing;
  const match = NUMBER_RE.exec(text);
  if (!match) return `Enter the ${noun} as a number, like 10 or 2.5.`;
  if (match[1] && match[1].length > places) return `Use at most ${places} decimal places.`;
  if (parseDecimal(text).mag === 0n) return `${noun[0].toUpperCase()}${noun.slice(1)} must be greater than zero.`;
  return null;
}

/**
 * {errors: {field: message}, payload}: the payload is what POST /api/orders/ takes, and is
 * null while there are errors. Limits match the API (qty: 6 decimals, limit: 4).
 */
export function validateTicket({ side, type, symbol, qty, limit_price: limit }) {
  const errors = {};
  const cleanSymbol = String(symbol || "").trim().toUpperCase();
  const cleanQty = String(qty || "").trim();
  const cleanLimit = String(limit || "").trim();
  if (!cleanSymbol) errors.symbol = "Enter a symbol, like AAPL.";
  else if (!SYMBOL_RE.test(cleanSymbol)) errors.symbol = "Use the ticker symbol: letters, like AAPL.";
  const qtyError = checkAmount(cleanQty, { noun: "quantity", places: 6, missing: "Enter a quantity." });
  if (qtyError) errors.qty = qtyError;
  if (type === "limit") {
    const limitError = checkAmount(cleanLimit, { noun: "limit price", places: 4, missing: "A limit order needs a limit price." });
    if (limitError) errors.limit_price = limitError;
  }
  if (!["buy", "sell"].includes(side)) errors.side = "Choose buy or sell.";
  if (!["market", "limit"].includes(type)) errors.type = "Choose market or limit.";
  if (Object.keys(errors).length) return { errors, payload: null };
  const payload = { symbol: cleanSymbol, side, type, qty: cleanQty, time_in_force: "day" };
  if (type === "limit") payload.limit_price = cleanLimit;
  return { errors, payload };
}

/** The API's 400 body -> {fields: {field: message}, form: message|null}. */
export function apiErrors(data) {
  const fields = {};
  const form = [];
  if (data && typeof data === "object") {
    for (const [key, value] of Object.entries(data)) {
      const message = Array.isArray(value) ? value.join(" ") : String(value);
      if (FIELDS.includes(key)) fields[key] = message;
      else if (key === "detail" || key === "non_field_errors") form.push(message);
      else form.push(`${key}: ${message}`);
    }
  }
  return { fields, form: form.length ? form.join(" ") : null };
}

/** Approximate value of qty x price as "$1,234.50", or null when either is not a number. */
export function estimateValue(qty, price) {
  const q = parseDecimal(String(qty || "").trim());
  const p = parseDecimal(String(price || "").trim());
  if (!q || !p || q.neg || p.neg) return null;
  return usd(decimalToString(roundHalfEven(multiplyDecimal(q, p), 2)));
}

function newClientOrderId() {
  const random = globalThis.crypto && globalThis.crypto.randomUUID ? globalThis.crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  return `web-${random.replace(/-/g, "")}`.slice(0, 48);
}

export class OrderTicket {
  constructor({ form, store, ordersUrl, onPlaced = () => undefined, announce = () => undefined, onError = () => undefined }) {
    this.form = form;
    this.store = store;
    this.ordersUrl = ordersUrl;
    this.onPlaced = onPlaced;
    this.announce = announce;
    this.onError = onError;
    this.placed = null; // the id of the order "Order sent" is about, until its outcome
    this.submit = form.querySelector("[type=submit]");
    this.formError = form.querySelector("[data-ticket-error]");
    this.result = form.querySelector("[data-ticket-result]");
    this.estimate = form.querySelector("[data-ticket-estimate]");
    this.limitField = form.querySelector("[data-limit-field]");
    this.retry = null; // {key, clientOrderId}: a network failure is retried under the same id
    this.busy = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.place();
    });
    form.addEventListener("input", (event) => this._changed(event));
    form.addEventListener("change", (event) => this._changed(event));
    this._sync();
    this.submit.disabled = false;
    form.dataset.ready = "true";
  }

  values() {
    const data = new FormData(this.form);
    return {
      side: data.get("side"),
      type: data.get("type"),
      symbol: data.get("symbol") || "",
      qty: data.get("qty") || "",
      limit_price: data.get("limit_price") || "",
    };
  }

  _changed(event) {
    const name = event.target && event.target.name;
    if (name === "symbol" && event.type === "change") event.target.value = event.target.value.trim().toUpperCase();
    if (FIELDS.includes(name) && event.type === "input") this._fieldError(name, null);
    this._sync();
  }

  /** Labels, the limit field's visibility and the estimate follow the inputs. */
  _sync() {
    const v = this.values();
    const isLimit = v.type === "limit";
    this.limitField.hidden = !isLimit;
    this.limitField.querySelector("input").disabled = !isLimit;
    const symbol = v.symbol.trim().toUpperCase();
    const verb = v.side === "sell" ? "Sell" : "Buy";
    if (!this.busy) this.submit.textContent = symbol ? `${verb} ${symbol}` : `Place ${verb.toLowerCase()} order`;
    this.submit.dataset.side = v.side;
    const held = this.store.positions.get(symbol);
    const reference = isLimit ? v.limit_price : held ? held.current_price : null;
    const value = reference ? estimateValue(v.qty, reference) : null;
    let text = "";
    if (value && isLimit) text = `Up to ${value} at ${formatPrice(v.limit_price)} or better.`;
    else if (value) text = `About ${value} at the last price, ${formatPrice(reference)}.`;
    else if (!isLimit && symbol && !held) text = "Fills at the market price.";
    if (this.estimate.textContent !== text) this.estimate.textContent = text;
  }

  _fieldError(field, message) {
    const input = this.form.elements.namedItem(field);
    const slot = this.form.querySelector(`[data-error-for="${field}"]`);
    if (!input || !slot) return;
    const box = input.closest(".field");
    if (message) {
      slot.textContent = message;
      slot.hidden = false;
      input.setAttribute("aria-invalid", "true");
      box && box.classList.add("has-error");
    } else {
      slot.textContent = "";
      slot.hidden = true;
      input.removeAttribute("aria-invalid");
      box && box.classList.remove("has-error");
    }
  }

  _showErrors(fields, form) {
    for (const field of FIELDS) this._fieldError(field, fields[field] || null);
    this.formError.textContent = form || "";
    this.formError.hidden = !form;
    delete this.formError.dataset.network;
    const first = FIELDS.find((field) => fields[field]);
    if (first) this.form.elements.namedItem(first).focus();
  }

  _say(text, tone = "ok") {
    this.result.textContent = text;
    this.result.dataset.tone = tone;
  }

  /** An order's outcome (a toast of toasts.js): replaces "Order sent" when it is that order. */
  showOutcome(orderId, toast) {
    if (!toast || this.placed !== orderId) return false;
    this._say(toast.text, OUTCOME_TONES[toast.kind] || "ok");
    if (toast.kind !== "partial_fill") this.placed = null;
    return true;
  }

  /** The server answered again: a "could not reach the server" is no longer true. */
  clearStaleErrors() {
    if (this.formError.dataset.network === "true") {
      this.formError.textContent = "";
      this.formError.hidden = true;
      delete this.formError.dataset.network;
    }
  }

  /** Put `symbol` (and `side`) in the ticket, from a tap on a position or the Buy/Sell bar. */
  prefill({ symbol = null, side = null } = {}) {
    if (symbol) {
      const input = this.form.elements.namedItem("symbol");
      input.value = symbol;
      this._fieldError("symbol", null);
    }
    if (side) {
      const radio = this.form.querySelector(`input[name=side][value="${side}"]`);
      if (radio) radio.checked = true;
    }
    this._sync();
  }

  async place() {
    if (this.busy) return;
    const { errors, payload } = validateTicket(this.values());
    this._say("");
    this._showErrors(errors, errors.side || errors.type || null);
    if (!payload) return;
    const key = JSON.stringify(payload);
    const clientOrderId = this.retry && this.retry.key === key ? this.retry.clientOrderId : newClientOrderId();
    this.busy = true;
    this.submit.disabled = true;
    this.submit.textContent = "Sending...";
    this.form.setAttribute("aria-busy", "true");
    try {
      const response = await requestJson(this.ordersUrl, {
        method: "POST",
        body: { ...payload, client_order_id: clientOrderId },
      });
      this.retry = null;
      if (response.ok) {
        const order = response.data;
        this.store.addPlacedOrder(order);
        const what = `${payload.side === "buy" ? "Buy" : "Sell"} ${formatQty(payload.qty)} ${payload.symbol}`;
        const how = payload.type === "limit" ? ` limit ${formatPrice(payload.limit_price)}` : " at market";
        this.placed = order.id;
        this._say(`Order sent: ${what}${how}.`);
        this.announce(`Order sent: ${what}${how}.`);
        this.form.elements.namedItem("qty").value = "";
        this.onPlaced(order);
      } else if (response.status === 400) {
        const { fields, form } = apiErrors(response.data);
        this._showErrors(fields, form);
      } else if (response.status === 403) {
        this._showErrors({}, "Your session has expired. Reload the page and sign in again.");
      } else {
        const message = (response.data && response.data.detail) || `The order was not accepted (HTTP ${response.status}).`;
        this._showErrors({}, message);
        this.onError(message);
      }
    } catch {
      this.retry = { key, clientOrderId };
      this._showErrors({}, NETWORK_ERROR);
      this.formError.dataset.network = "true";
      this.onError(NETWORK_ERROR);
    } finally {
      this.busy = false;
      this.submit.disabled = false;
      this.form.removeAttribute("aria-busy");
      this._sync();
    }
  }
}

/** Network errors under cancel buttons are stale once the server answers again. */
export function clearStaleCancelNotes(table) {
  for (const note of table.querySelectorAll("[data-cancel-note][data-network]")) {
    note.textContent = "";
    delete note.dataset.network;
  }
}

/** Cancel buttons of open orders (event delegation on the table). */
export function bindCancelButtons(table, { orderUrl, announce = () => undefined, onError = () => undefined }) {
  table.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action=cancel]");
    if (!button || button.disabled) return;
    const row = button.closest("tr[data-order-id]");
    const id = row && row.dataset.orderId;
    if (!id) return;
    const note = row.querySelector("[data-cancel-note]");
    button.disabled = true;
    button.textContent = "Canceling...";
    if (note) {
      note.textContent = "";
      delete note.dataset.network;
    }
    let message = null;
    let network = false;
    try {
      const response = await requestJson(orderUrl(id), { method: "DELETE" });
      if (response.ok) {
        announce("Cancel requested.");
        return; // the stream (or the next poll) moves the row on
      }
      message =
        response.status === 409
          ? "Too late to cancel: the order is already finished."
          : (response.data && response.data.detail) || `Cancel failed (HTTP ${response.status}).`;
    } catch {
      message = CANCEL_NETWORK_ERROR;
      network = true;
    }
    button.disabled = false;
    button.textContent = "Cancel";
    if (note) {
      note.textContent = message;
      if (network) note.dataset.network = "true";
    }
    if (network) onError(message);
    else announce(message);
  });
}
