// The one socket of this tab: connect, subscribe, answer heartbeats, watch for silence,
// reconnect with jittered backoff, and honour the close codes that mean "stop".
// It knows nothing about the page: frames go to onFrame, states to onState.

import { Backoff } from "./backoff.js";
import { CHANNELS, validateFrame } from "./validate.js";

export const CLOSE_CODES = Object.freeze({
  HEARTBEAT_TIMEOUT: 4000,
  SLOW_CONSUMER: 4008,
  LOGGED_OUT: 4401,
  FEATURE_DISABLED: 4403,
  SERVER_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
});
// The server pings every 15 s: 40 s of silence means two were lost, and the socket is dead
// even if TCP has not noticed yet.
export const WATCHDOG_MS = 40_000;
// The server closes a socket after 30 s without a client frame; say something every 20 s.
export const CLIENT_PING_MS = 20_000;
export const TICK_MS = 5_000;
// A tick this late means the machine slept: probe the socket instead of trusting it.
export const SLEEP_GAP_MS = 3 * TICK_MS;
export const PROBE_MS = 5_000;
// Snapshots normally follow a subscribe within milliseconds.
export const SNAPSHOT_TIMEOUT_MS = 10_000;

/**
 * States: "connecting" (socket opening), "subscribing" (open, waiting for snapshots), "live",
 * "waiting" (a reconnect is scheduled), and the final ones "disabled" (4403: poll instead),
 * "logged_out" (4401) and "stopped".
 */
export class LiveClient {
  constructor({
    url,
    channels = CHANNELS,
    WebSocketImpl = globalThis.WebSocket,
    timers = globalThis,
    now = () => Date.now(),
    random = Math.random,
    logger = console,
    onFrame = () => undefined,
    onState = () => undefined,
    onActivity = () => undefined,
  }) {
    this.url = url;
    this.channels = [...channels];
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    this.now = now;
    this.logger = logger;
    this.onFrame = onFrame;
    this.onState = onState;
    this.onActivity = onActivity;
    this.backoff = new Backoff({ random });
    this.state = "idle";
    this.socket = null;
    this.pendingSnapshots = new Set();
    this.retryTimer = null;
    this.tickTimer = null;
    this.snapshotTimer = null;
    this.lastReceivedAt = 0;
    this.lastSentAt = 0;
    this.lastTickAt = 0;
    this.probeDeadline = null;
    this.lastClose = null;
    this.failures = 0; // connection attempts that ended before going live, since the last live
    this.downSince = null;
    this.retryAt = null;
    this.everLive = false;
  }

  get finished() {
    return ["disabled", "logged_out", "stopped"].includes(this.state);
  }

  start() {
    if (this.state === "idle") this._connect();
  }

  stop() {
    this._teardown(1000, "page closed");
    this._clearRetry();
    this._setState("stopped");
  }

  /** Connect now instead of at the scheduled time (the browser came online, a user asked). */
  reconnectNow(reason = "requested") {
    if (this.finished) return;
    if (this.state === "live" || this.state === "subscribing" || this.state === "connecting") return;
    this.logger.info?.(`[live] reconnecting now (${reason})`);
    this._clearRetry();
    this._connect();
  }

  /** The browser went offline: drop the socket now rather than wait for the watchdog. */
  dropConnection(reason = "offline") {
    if (this.finished || !this.socket) return;
    this._lost(CLOSE_CODES.HEARTBEAT_TIMEOUT, reason);
  }

  /** Ask for a fresh snapshot of one channel (after a seq gap). */
  resubscribe(channel) {
    if (this.pendingSnapshots.has(channel) || !this.socket || this.state === "connecting") return;
    this.pendingSnapshots.add(channel);
    this._send({ type: "subscribe", channels: [channel] });
    this._armSnapshotTimer();
  }

  // --- Internals -------------------------------------------------------------------------------

  _setState(state, extra = {}) {
    this.state = state;
    this.onState(state, {
      failures: this.failures,
      downSince: this.downSince,
      retryAt: this.retryAt,
      lastClose: this.lastClose,
      everLive: this.everLive,
      ...extra,
    });
  }

  _connect() {
    this._teardown(1000, "replaced");
    let socket;
    try {
      socket = new this.WebSocketImpl(this.url);
    } catch (error) {
      this.logger.warn(`[live] cannot open ${this.url}: ${error}`);
      this._scheduleRetry();
      return;
    }
    this.socket = socket;
    this.pendingSnapshots = new Set(this.channels);
    this.lastReceivedAt = this.now();
    this.lastSentAt = this.now();
    this.probeDeadline = null;
    socket.onopen = () => this._onOpen(socket);
    socket.onmessage = (event) => this._onMessage(socket, event);
    socket.onclose = (event) => this._onClose(socket, event);
    socket.onerror = () => undefined; // a close event always follows, with the code
    this.retryAt = null;
    this._setState("connecting");
  }

  _onOpen(socket) {
    if (socket !== this.socket) return;
    this.lastReceivedAt = this.now();
    this._send({ type: "subscribe", channels: this.channels });
    this._armSnapshotTimer();
    this.lastTickAt = this.now();
    this.tickTimer = this.timers.setInterval(() => this._tick(), TICK_MS);
    this._setState("subscribing");
  }

  _onMessage(socket, event) {
    if (socket !== this.socket) return;
    this.lastReceivedAt = this.now();
    this.probeDeadline = null;
    const result = validateFrame(event.data);
    if (!result.ok) {
      if (result.unknown) this.logger.debug?.(`[live] ignored a frame: ${result.reason}`);
      else this.logger.warn(`[live] dropped a bad frame: ${result.reason}`);
      return;
    }
    const { frame } = result;
    this.onActivity(frame);
    switch (frame.type) {
      case "ping":
        this._send({ type: "pong" });
        break;
      case "snapshot":
        this.pendingSnapshots.delete(frame.channel);
        this.onFrame(frame);
        if (this.pendingSnapshots.size === 0) {
          this._clearSnapshotTimer();
          if (this.state !== "live") this._goLive();
        }
        break;
      case "error":
        this._onError(frame);
        break;
      case "pong":
      case "subscribed":
      case "unsubscribed":
        break;
      default:
        if (this.onFrame(frame) === "gap") {
          this.logger.info?.(`[live] seq gap on ${frame.channel}; asking for a fresh snapshot`);
          this.resubscribe(frame.channel);
        }
    }
  }

  _goLive() {
    this.backoff.reset();
    this.failures = 0;
    this.downSince = null;
    this.everLive = true;
    this._setState("live");
  }

  _onError(frame) {
    this.onFrame(frame);
    if (frame.code === "snapshot_failed") {
      // The channels stay pending; ask again after a backoff delay.
      const channels = [...this.pendingSnapshots];
      const delay = this.backoff.next();
      this.logger.warn(`[live] snapshot failed; asking again in ${delay} ms`);
      this.timers.setTimeout(() => {
        if (this.socket && channels.length) this._send({ type: "subscribe", channels });
      }, delay);
    } else if (!["feature_disabled", "logged_out", "unavailable"].includes(frame.code)) {
      this.logger.warn(`[live] server error ${frame.code}: ${frame.message}`);
    }
  }

  _onClose(socket, event) {
    if (socket !== this.socket) return;
    this._lost(event.code, event.reason || "");
  }

  _lost(code, reason) {
    this._teardown(code === CLOSE_CODES.HEARTBEAT_TIMEOUT ? 4000 : 1000, reason);
    this.lastClose = { code, reason, at: this.now() };
    if (this.state === "stopped") return;
    if (code === CLOSE_CODES.FEATURE_DISABLED) {
      this._setState("disabled");
      return;
    }
    if (code === CLOSE_CODES.LOGGED_OUT) {
      this._setState("logged_out");
      return;
    }
    // An announced restart: come back as soon as the server does (a few seconds), not after
    // the long waits of an unexplained failure.
    if (code === CLOSE_CODES.SERVER_RESTART) this.backoff.serverRestarting();
    if (this.downSince === null) this.downSince = this.now();
    this._scheduleRetry();
  }

  _scheduleRetry() {
    this.failures += 1;
    const delay = this.backoff.next();
    this.retryAt = this.now() + delay;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this._connect();
    }, delay);
    this._setState("waiting", { delay });
  }

  _clearRetry() {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = null;
  }

  _armSnapshotTimer() {
    this._clearSnapshotTimer();
    this.snapshotTimer = this.timers.setTimeout(() => {
      this.snapshotTimer = null;
      if (this.pendingSnapshots.size > 0) {
        this.logger.warn(`[live] no snapshot for ${[...this.pendingSnapshots].join(", ")}; reconnecting`);
        this._lost(CLOSE_CODES.HEARTBEAT_TIMEOUT, "snapshot timeout");
      }
    }, SNAPSHOT_TIMEOUT_MS);
  }

  _clearSnapshotTimer() {
    if (this.snapshotTimer !== null) this.timers.clearTimeout(this.snapshotTimer);
    this.snapshotTimer = null;
  }

  /** Every 5 s: keep the server's idle timer happy and notice a silent (dead) socket. */
  _tick() {
    const now = this.now();
    const slept = now - this.lastTickAt > SLEEP_GAP_MS;
    this.lastTickAt = now;
    if (!this.socket) return;
    if (now - this.lastReceivedAt > WATCHDOG_MS) {
      this.logger.warn(`[live] no frame for ${Math.round((now - this.lastReceivedAt) / 1000)} s; reconnecting`);
      this._lost(CLOSE_CODES.HEARTBEAT_TIMEOUT, "heartbeat timeout");
      return;
    }
    if (this.probeDeadline !== null && now >= this.probeDeadline) {
      this.logger.warn("[live] no answer after waking up; reconnecting");
      this._lost(CLOSE_CODES.HEARTBEAT_TIMEOUT, "no answer after sleep");
      return;
    }
    if (slept) {
      // Timers stood still: the socket may be dead without knowing it. A ping must be answered.
      this.probeDeadline = now + PROBE_MS;
      this._send({ type: "ping" });
    } else if (now - this.lastSentAt >= CLIENT_PING_MS) {
      this._send({ type: "ping" });
    }
  }

  _send(message) {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return false;
    try {
      socket.send(JSON.stringify(message));
      this.lastSentAt = this.now();
      return true;
    } catch (error) {
      this.logger.warn(`[live] send failed: ${error}`);
      return false;
    }
  }

  _teardown(code, reason) {
    this._clearSnapshotTimer();
    if (this.tickTimer !== null) this.timers.clearInterval(this.tickTimer);
    this.tickTimer = null;
    const socket = this.socket;
    this.socket = null;
    this.pendingSnapshots = new Set();
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    if (socket.readyState === 0 || socket.readyState === 1) {
      try {
        socket.close(code, reason.slice(0, 100));
      } catch {
        socket.close();
      }
    }
  }
}
