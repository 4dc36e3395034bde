// Every server frame is checked before anything acts on it; a bad one is logged and dropped.
// The checks follow the frame schemas (docs/api/asyncapi.yaml): every field there must be
// present with its type. Unknown fields are allowed (forward compatibility), and a few
// checks go further than the schemas (non-empty ids, a batch's events within its range).
// tests/js/test_validate_parity.py proves these checks accept and reject what the schemas do.

import { isDecimalString } from "./decimal.js";

export const CHANNELS = ["positions", "orders", "account"];

class Invalid extends Error {}

function check(condition, message) {
  if (!condition) throw new Invalid(message);
}

// RFC 3339, as the server writes times (JSON Schema's `date-time`).
const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isString = (value) => typeof value === "string";
const isText = (value) => isString(value) && value.length > 0;
const isSeq = (value, min) => Number.isSafeInteger(value) && value >= min;
const isTime = (value) => isString(value) && TIME_RE.test(value) && !Number.isNaN(Date.parse(value));
const decimal = isDecimalString;
const nullable = (valid) => (value) => value === null || valid(value);
const oneOf = (...allowed) => (value) => allowed.includes(value);
const isChannelList = (value) => Array.isArray(value) && value.every((c) => CHANNELS.includes(c));

const POSITION = {
  symbol: isText,
  qty: decimal,
  side: oneOf("long", "short", "flat"),
  avg_entry_price: decimal,
  current_price: decimal,
  lastday_price: decimal,
  market_value: decimal,
  cost_basis: decimal,
  unrealized_pl: decimal,
  unrealized_plpc: decimal,
  unrealized_intraday_pl: decimal,
  unrealized_intraday_plpc: decimal,
  change_today: decimal,
};
const ORDER = {
  id: isText,
  client_order_id: isString,
  symbol: isText,
  side: oneOf("buy", "sell"),
  type: oneOf("market", "limit"),
  time_in_force: isString,
  qty: decimal,
  filled_qty: decimal,
  filled_avg_price: nullable(decimal),
  limit_price: nullable(decimal),
  status: isText,
  reject_reason: isString,
  submitted_at: isTime,
  filled_at: nullable(isTime),
  canceled_at: nullable(isTime),
  expired_at: nullable(isTime),
  failed_at: nullable(isTime),
  updated_at: nullable(isTime),
};
const FILL = {
  execution_id: isText,
  order_id: isText,
  symbol: isText,
  side: oneOf("buy", "sell"),
  qty: decimal,
  price: decimal,
  executed_at: isTime,
};
const ACCOUNT = {
  cash: decimal,
  equity: decimal,
  last_equity: decimal,
  buying_power: decimal,
  long_market_value: decimal,
  short_market_value: decimal,
  day_pl: decimal,
  day_pl_pct: decimal,
  realized_pl: decimal,
  realized_pl_today: decimal,
};

function fields(data, spec, what) {
  check(isObject(data), `${what} is not an object`);
  for (const [name, valid] of Object.entries(spec)) {
    check(valid(data[name]), `${what}.${name} is missing or invalid`);
  }
}

export const checkPosition = (data) => fields(data, POSITION, "position");
export const checkOrder = (data) => fields(data, ORDER, "order");
export const checkFill = (data) => fields(data, FILL, "fill");
export const checkAccount = (data) => fields(data, ACCOUNT, "account");

const EVENT_CHANNEL = {
  position_update: "positions",
  order_update: "orders",
  trade_executed: "orders",
  account_update: "account",
};

const CHECK_EVENT_DATA = {
  position_update: checkPosition,
  order_update: checkOrder,
  trade_executed: checkFill,
  account_update: checkAccount,
};

function checkEvent(frame, channel) {
  check(Object.hasOwn(EVENT_CHANNEL, frame.type), `unknown event type ${frame.type}`);
  check(frame.channel === EVENT_CHANNEL[frame.type], `${frame.type} on channel ${frame.channel}`);
  check(channel === undefined || frame.channel === channel, "event of another channel in a batch");
  check(isSeq(frame.seq, 1), "seq is not a positive integer");
  check(isTime(frame.ts), "ts is not a time");
  CHECK_EVENT_DATA[frame.type](frame.data);
}

function checkSnapshot(frame) {
  check(CHANNELS.includes(frame.channel), "snapshot of an unknown channel");
  check(isSeq(frame.seq, 0), "snapshot seq is invalid");
  check(isTime(frame.ts), "snapshot ts is not a time");
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
  check(isTime(frame.ts), "batch ts is not a time");
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
  subscribed: (f) => check(isChannelList(f.channels), "subscribed without channels"),
  unsubscribed: (f) => check(isChannelList(f.channels), "unsubscribed without channels"),
  ping: (f) => check(isTime(f.ts), "ping ts is not a time"),
  pong: (f) => check(isTime(f.ts), "pong ts is not a time"),
  error: (f) => check(isText(f.code) && isString(f.message), "error without code/message"),
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
  const known = Object.hasOwn(CHECK_FRAME, frame.type) || Object.hasOwn(EVENT_CHANNEL, frame.type);
  if (!known) return { ok: false, reason: `unknown frame type ${frame.type}`, unknown: true };
  try {
    (CHECK_FRAME[frame.type] || checkEvent)(frame);
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message, unknown: false };
    throw error;
  }
  return { ok: true, frame };
}
