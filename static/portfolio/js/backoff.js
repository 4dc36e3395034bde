// Reconnect delays: exponential with full jitter. The ceiling doubles from 0.5 s and is capped
// at 30 s before the jitter is drawn (AWS "full jitter"), so a server restart does not bring
// every tab back in the same instant.

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;

/** The largest delay of attempt `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt, { base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS } = {}) {
  const exponent = Math.min(Math.max(0, attempt), 30);
  return Math.min(cap, base * 2 ** exponent);
}

/** A delay drawn uniformly from [0, ceiling]; `random` returns [0, 1) like Math.random. */
export function fullJitterDelay(attempt, random = Math.random, options = {}) {
  return Math.round(random() * backoffCeiling(attempt, options));
}

/** Counts failed attempts; reset() once a connection has proved itself (a snapshot arrived). */
export class Backoff {
  constructor({ base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS, random = Math.random } = {}) {
    this.options = { base, cap };
    this.random = random;
    this.attempt = 0;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next() {
    const delay = fullJitterDelay(this.attempt, this.random, this.options);
    this.attempt += 1;
    return delay;
  }

  reset() {
    this.attempt = 0;
  }
}
