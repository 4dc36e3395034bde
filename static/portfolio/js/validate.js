// Every server frame is checked before anything acts on it; a bad one is logged and dropped.
// The checks cover what this page reads; extra fields are allowed (forward compatibility).

import { isDecimalString } from "./decimal.js";

export const CHANNELS = ["positions", "orders", "account"];

const POSITION_DECIMALS = [
  "qty",
  "avg_entry_price",
  "current_price",
  "market_value",
  "unrealized_pl",
  "unrealized_plpc",
  "unrealized_intraday_pl",
];
const ORDER_DECIMALS = ["qty", "filled_qty"];
const FILL_DECIMALS = ["qty", "price"];
const ACCOUNT_DECIMALS = ["cash", "equity", "last_equity", "buying_power", "day_pl", "day_pl_pct"];

const EVENT_CHANNEL = {
  position_update: "positions",
  order_update: "orders",
  trade_executed: "orders",
  account_update: "account",
};

class Invalid extends Error {}

function check(condition, message) {
  if (!condition) throw new Invalid(message);
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isText = (value) => typeof value === "string" && value.length > 0;
const isSeq = (value, min) => Number.isSafeInteger(value) && value >= min;
const isTime = (value) => typeof value === "string" && !Number.isNaN(Date.parse(value));

function decimals(data, fields, what) {
  for (const field of fields) check(isDecimalString(data[field]), `${what}.${field} is not a decimal string`);
}

export function checkPosition(data) {
  check(isObject(data), "position is not an object");
  check(isText(data.symbol), "position.symbol is missing");
  check(["long", "short", "flat"].includes(data.side), "position.side is invalid");
  decimals(data, POSITION_DECIMALS, "position");
}

export function checkOrder(data) {
  check(isObject(data), "order is not an object");
  check(isText(data.id) && isText(data.symbol) && isText(data.status), "order.id/symbol/status missing");
  check(["buy", "sell"].includes(data.side), "order.side is invalid");
  check(["market", "limit"].includes(data.type), "order.type is invalid");
  decimals(data, ORDER_DECIMALS, "order");
  check(data.limit_price === null || isDecimalString(data.limit_price), "order.limit_price is invalid");
  check(isTime(data.submitted_at), "order.submitted_at is not a time");
}

export function checkFill(data) {
  check(isObject(data), "fill is not an object");
  check(isText(data.execution_id) && isText(data.order_id) && isText(data.symbol), "fill ids missing");
  check(["buy", "sell"].includes(data.side), "fill.side is invalid");
  decimals(data, FILL_DECIMALS, "fill");
  check(isTime(data.executed_at), "fill.executed_at is not a time");
}

export function checkAccount(data) {
  check(isObject(data), "account is not an object");
  decimals(data, ACCOUNT_DECIMALS, "account");
}

const CHECK_EVENT_DATA = {
  position_update: checkPosition,
  order_update: checkOrder,
  trade_executed: checkFill,
  account_update: checkAccount,
};

function checkEvent(frame, channel) {
  check(frame.type in EVENT_CHANNEL, `unknown event type ${frame.type}`);
  check(frame.channel === EVENT_CHANNEL[frame.type], `${frame.type} on channel ${frame.channel}`);
  check(channel === undefined || frame.channel === channel, "event of another channel in a batch");
  check(isSeq(frame.seq, 1), "seq is not a positive integer");
  check(isTime(frame.ts), "ts is not a time");
  CHECK_EVENT_DATA[frame.type](frame.data);
}

function checkSnapshot(frame) {
  check(CHANNELS.includes(frame.channel), "snapshot of an unknown channel");
  check(isSeq(frame.seq, 0), "snapshot seq is invalid");
  check(isObject(frame.data), "snapshot without data");
  if (frame.channel === "positions") {
    check(Array.isArray(frame.data.positions), "snapshot without positions");
    frame.data.positions.forEach(checkPosition);
  } else if (frame.channel === "orders") {
    check(Array.isArray(frame.data.orders) && Array.isArray(frame.data.fills), "snapshot without orders/fills");
    frame.data.orders.forEach(checkOrder);
    frame.data.fills.forEach(checkFill);
  } else {
    checkAccount(frame.data.account);
  }
}

function checkBatch(frame) {
  check(CHANNELS.includes(frame.channel), "batch of an unknown channel");
  check(isSeq(frame.from_seq, 1) && isSeq(frame.seq, 1) && frame.from_seq <= frame.seq, "batch range is invalid");
  check(Array.isArray(frame.events) && frame.events.length > 0, "batch without events");
  for (const event of frame.events) {
    check(isObject(event), "batch event is not an object");
    checkEvent(event, frame.channel);
    check(event.seq >= frame.from_seq && event.seq <= frame.seq, "batch event outside its range");
  }
}

const CHECK_FRAME = {
  snapshot: checkSnapshot,
  batch: checkBatch,
  subscribed: (f) => check(Array.isArray(f.channels), "subscribed without channels"),
  unsubscribed: (f) => check(Array.isArray(f.channels), "unsubscribed without channels"),
  ping: () => {},
  pong: () => {},
  error: (f) => check(isText(f.code) && typeof f.message === "string", "error without code/message"),
};

/**
 * {ok: true, frame} or {ok: false, reason, unknown}: `unknown` marks a well-formed frame of a
 * type this client does not know, which newer servers may send and which is ignored quietly.
 */
export function validateFrame(text) {
  let frame;
  try {
    frame = typeof text === "string" ? JSON.parse(text) : text;
  } catch {
    return { ok: false, reason: "not JSON", unknown: false };
  }
  if (!isObject(frame) || typeof frame.type !== "string") {
    return { ok: false, reason: "not an object with a type", unknown: false };
  }
  const checker = CHECK_FRAME[frame.type] || (frame.type in EVENT_CHANNEL ? (f) => checkEvent(f) : null);
  if (!checker) return { ok: false, reason: `unknown frame type ${frame.type}`, unknown: true };
  try {
    checker(frame);
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message, unknown: false };
    throw error;
  }
  return { ok: true, frame };
}
