// Reconnect delays: exponential with full jitter. The ceiling doubles from 0.5 s and is capped
// at 30 s before the jitter is drawn (AWS "full jitter"), so a server restart does not bring
// every tab back in the same instant.

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;
// After an announced restart (close 1012) the server is usually back within seconds: try again
// after about a second, then keep trying every few seconds (never the long waits above) until
// it answers. Equal jitter (half fixed, half random) still spreads the tabs of a deploy.
export const RESTART_BASE_MS = 1_000;
export const RESTART_CAP_MS = 3_000;

/** The largest delay of attempt `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt, { base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS } = {}) {
  const exponent = Math.min(Math.max(0, attempt), 30);
  return Math.min(cap, base * 2 ** exponent);
}

/** A delay drawn uniformly from [0, ceiling]; `random` returns [0, 1) like Math.random. */
export function fullJitterDelay(attempt, random = Math.random, options = {}) {
  return Math.round(random() * backoffCeiling(attempt, options));
}

/** Attempt `attempt` (0-based) after a 1012: between half and all of min(3 s, 1 s * 2^attempt). */
export function restartDelay(attempt, random = Math.random) {
  const ceiling = Math.min(RESTART_CAP_MS, RESTART_BASE_MS * 2 ** Math.min(Math.max(0, attempt), 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Counts failed attempts; reset() once a connection has proved itself (a snapshot arrived). */
export class Backoff {
  constructor({ base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS, random = Math.random } = {}) {
    this.options = { base, cap };
    this.random = random;
    this.attempt = 0;
    this.restartAttempt = null; // counting from a 1012 until the next good connection
  }

  /** The server announced a restart: the next delays follow restartDelay until reset(). */
  serverRestarting() {
    if (this.restartAttempt === null) this.restartAttempt = 0;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next() {
    this.attempt += 1;
    if (this.restartAttempt !== null) return restartDelay(this.restartAttempt++, this.random);
    return fullJitterDelay(this.attempt - 1, this.random, this.options);
  }

  reset() {
    this.attempt = 0;
    this.restartAttempt = null;
  }
}
