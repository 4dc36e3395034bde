import assert from "node:assert/strict";
import { test } from "node:test";

import { CLIENT_PING_MS, LiveClient, SNAPSHOT_TIMEOUT_MS, WATCHDOG_MS } from "../../static/portfolio/js/live_client.js";
import { account, event, FakeTimers, makeSocketClass, position, quietLogger, snapshotFrame } from "./helpers.mjs";

const SNAPSHOTS = [
  snapshotFrame("positions", 3, { positions: [position("AAPL")] }),
  snapshotFrame("orders", 2, { orders: [], fills: [] }),
  snapshotFrame("account", 4, { account: account() }),
];

function setup({ onFrame = () => undefined, random = () => 0.5 } = {}) {
  const timers = new FakeTimers();
  const Socket = makeSocketClass();
  const logger = quietLogger();
  const states = [];
  const frames = [];
  const client = new LiveClient({
    url: "ws://test/ws/portfolio",
    WebSocketImpl: Socket,
    timers,
    now: timers.now,
    random,
    logger,
    onFrame: (frame) => {
      frames.push(frame);
      return onFrame(frame);
    },
    onState: (state, info) => states.push([state, info]),
  });
  const latest = () => Socket.instances.at(-1);
  const goLive = () => {
    latest().open();
    for (const frame of SNAPSHOTS) latest().receive(frame);
  };
  return { timers, Socket, logger, states, frames, client, latest, goLive };
}

test("opens one socket, subscribes to every channel, and is live once all snapshots arrived", () => {
  const { client, Socket, latest, states, frames } = setup();
  client.start();
  client.start(); // idempotent: still one socket per tab
  assert.equal(Socket.instances.length, 1);
  assert.equal(client.state, "connecting");
  latest().open();
  assert.deepEqual(latest().sent, [{ type: "subscribe", channels: ["positions", "orders", "account"] }]);
  assert.equal(client.state, "subscribing");
  latest().receive({ type: "subscribed", channels: ["positions", "orders", "account"] });
  latest().receive(SNAPSHOTS[0]);
  latest().receive(SNAPSHOTS[1]);
  assert.equal(client.state, "subscribing");
  latest().receive(SNAPSHOTS[2]);
  assert.equal(client.state, "live");
  assert.equal(frames.length, 3);
  assert.deepEqual(states.map(([s]) => s), ["connecting", "subscribing", "live"]);
});

test("answers the server's heartbeat and pings on its own when quiet", () => {
  const { client, latest, goLive, timers } = setup();
  client.start();
  goLive();
  latest().receive({ type: "ping", ts: "2026-11-25T22:27:34Z" });
  assert.deepEqual(latest().sent.at(-1), { type: "pong" });
  // Keep receiving (so the watchdog is happy) but send nothing for 20 s: the client pings.
  for (let i = 0; i < 5; i += 1) {
    timers.advance(5_000);
    latest().receive({ type: "pong", ts: "2026-11-25T22:27:34Z" });
  }
  assert.ok(CLIENT_PING_MS <= 25_000);
  assert.deepEqual(latest().sent.at(-1), { type: "ping" });
});

test("the watchdog drops a silent socket and reconnects", () => {
  const { client, Socket, latest, goLive, timers, logger } = setup();
  client.start();
  goLive();
  const first = latest();
  timers.advance(WATCHDOG_MS + 5_000);
  assert.equal(first.closedWith.code, 4000);
  assert.ok(logger.lines.some(([level, line]) => level === "warn" && line.includes("no frame")));
  assert.equal(client.state, "waiting");
  timers.advance(30_000);
  assert.equal(Socket.instances.length, 2);
});

test("reconnects with jittered exponential backoff on 1013, 4000, 4008, 1008 and 1006", () => {
  const { client, Socket, latest, states, timers } = setup({ random: () => 1 });
  client.start();
  const delays = [];
  for (const code of [1006, 1013, 4000, 4008, 1008, 1006, 1006, 1006, 1006]) {
    latest().serverClose(code);
    const [state, info] = states.at(-1);
    assert.equal(state, "waiting");
    delays.push(info.delay);
    timers.advance(info.delay);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(Socket.instances.length, 10);
  assert.equal(client.failures, 9);
});

test("going live resets the backoff", () => {
  const { client, latest, goLive, states, timers } = setup({ random: () => 1 });
  client.start();
  latest().serverClose(1006);
  timers.advance(500);
  latest().serverClose(1006);
  timers.advance(1_000);
  goLive();
  assert.equal(client.failures, 0);
  latest().serverClose(1006);
  assert.equal(states.at(-1)[1].delay, 500);
});

test("after a 1012 (announced restart) it retries within about a second, then every few seconds", () => {
  for (const random of [() => 0, () => 0.999]) {
    const { client, Socket, latest, goLive, states, timers } = setup({ random });
    client.start();
    goLive();
    latest().serverClose(1012, "server restarting");
    const delays = [states.at(-1)[1].delay];
    // The server stays down for a while: every attempt is refused (1006), the waits stay short.
    for (let attempt = 0; attempt < 12; attempt += 1) {
      timers.advance(delays.at(-1));
      latest().serverClose(1006);
      delays.push(states.at(-1)[1].delay);
    }
    assert.ok(delays[0] >= 500 && delays[0] <= 1_000, `first retry after ${delays[0]} ms`);
    assert.ok(Math.max(...delays) <= 3_000, `waits ${delays}`);
    assert.equal(Socket.instances.length, 13); // the first socket and 12 attempts
    // Back: live, and the next unexplained drop backs off from 0.5 s again.
    timers.advance(delays.at(-1));
    goLive();
    latest().serverClose(1006);
    assert.ok(states.at(-1)[1].delay <= 500);
    timers.advance(500);
    latest().serverClose(1006);
    assert.ok(states.at(-1)[1].delay <= 1_000);
  }
});

test("4403 stops for good (the page polls); 4401 stops and reports the logout", () => {
  for (const [code, final] of [
    [4403, "disabled"],
    [4401, "logged_out"],
  ]) {
    const { client, Socket, latest, goLive, timers } = setup();
    client.start();
    goLive();
    latest().receive({ type: "error", code: code === 4403 ? "feature_disabled" : "logged_out", message: "x" });
    latest().serverClose(code);
    assert.equal(client.state, final);
    timers.advance(120_000);
    assert.equal(Socket.instances.length, 1, "no reconnect");
    client.reconnectNow("online");
    assert.equal(Socket.instances.length, 1, "not even when asked");
  }
});

test("a seq gap re-subscribes that channel for a fresh snapshot", () => {
  const { client, latest, goLive } = setup({ onFrame: (frame) => (frame.seq === 9 ? "gap" : "applied") });
  client.start();
  goLive();
  latest().receive(event("position_update", 4, position("AAPL")));
  latest().receive(event("position_update", 9, position("AAPL")));
  latest().receive(event("position_update", 9, position("AAPL"))); // already asked: no second request
  const subscribes = latest().sent.filter((m) => m.type === "subscribe");
  assert.deepEqual(subscribes.at(-1), { type: "subscribe", channels: ["positions"] });
  assert.equal(subscribes.length, 2);
  latest().receive(snapshotFrame("positions", 9, { positions: [] }));
  assert.equal(client.state, "live");
  assert.equal(client.pendingSnapshots.size, 0);
});

test("bad frames are logged and dropped; unknown types are ignored quietly", () => {
  const { client, latest, goLive, frames, logger } = setup();
  client.start();
  goLive();
  const before = frames.length;
  latest().receive("{not json");
  latest().receive({ type: "position_update", channel: "positions", seq: 5, ts: "2026-11-25T22:27:34Z", data: { symbol: "AAPL" } });
  latest().receive({ type: "position_update", channel: "orders", seq: 5, ts: "2026-11-25T22:27:34Z", data: position("AAPL") });
  latest().receive({ type: "position_update", channel: "positions", seq: -1, ts: "2026-11-25T22:27:34Z", data: position("AAPL") });
  latest().receive({ type: "position_update", channel: "positions", seq: 5, ts: "2026-11-25T22:27:34Z", data: position("AAPL", { qty: 10 }) });
  latest().receive({ type: "shiny_new_thing", channel: "positions" });
  assert.equal(frames.length, before);
  assert.equal(logger.lines.filter(([level]) => level === "warn").length, 5);
  assert.equal(logger.lines.filter(([level]) => level === "debug").length, 1);
  assert.equal(client.state, "live");
});

test("the browser's online event reconnects at once instead of waiting for the backoff", () => {
  const { client, Socket, latest, goLive, timers } = setup({ random: () => 1 });
  client.start();
  goLive();
  client.dropConnection("offline");
  assert.equal(latest().closedWith.code, 4000);
  assert.equal(client.state, "waiting");
  for (let i = 0; i < 5; i += 1) {
    timers.advance(client.retryAt - timers.now());
    latest().serverClose(1006);
  }
  const count = Socket.instances.length;
  assert.ok(timers.pending().some((ms) => ms >= 8_000)); // a long wait was scheduled
  client.reconnectNow("online");
  assert.equal(Socket.instances.length, count + 1);
  assert.deepEqual(timers.pending(), []); // the scheduled attempt was cancelled
  goLive();
  assert.equal(client.state, "live");
});

test("no snapshot within the timeout: reconnect", () => {
  const { client, Socket, latest, timers } = setup();
  client.start();
  latest().open();
  timers.advance(SNAPSHOT_TIMEOUT_MS + 1);
  assert.equal(client.state, "waiting");
  timers.advance(1_000);
  assert.equal(Socket.instances.length, 2);
});

test("after the machine slept, the socket must answer a ping within 5 s", () => {
  const { client, Socket, latest, goLive, timers } = setup();
  client.start();
  goLive();
  timers.jump(35_000); // lid closed: no timer ran
  timers.advance(1); // the first tick after waking notices the gap and probes
  assert.deepEqual(latest().sent.at(-1), { type: "ping" });
  assert.equal(client.state, "live");
  timers.advance(5_000); // no answer
  assert.equal(client.state, "waiting");
  timers.advance(1_000);
  assert.equal(Socket.instances.length, 2);
});

test("a socket that answers the wake-up probe stays", () => {
  const { client, Socket, latest, goLive, timers } = setup();
  client.start();
  goLive();
  timers.jump(35_000);
  timers.advance(1);
  latest().receive({ type: "pong", ts: "2026-11-25T22:27:34Z" });
  timers.advance(10_000);
  assert.equal(client.state, "live");
  assert.equal(Socket.instances.length, 1);
});

test("snapshot_failed asks again after a backoff delay", () => {
  const { client, latest, timers } = setup({ random: () => 1 });
  client.start();
  latest().open();
  latest().receive({ type: "error", code: "snapshot_failed", message: "try again" });
  timers.advance(500);
  assert.deepEqual(latest().sent.at(-1), { type: "subscribe", channels: ["positions", "orders", "account"] });
});

test("stop() closes the socket and never reconnects", () => {
  const { client, Socket, latest, goLive, timers } = setup();
  client.start();
  goLive();
  client.stop();
  assert.equal(latest().closedWith.code, 1000);
  timers.advance(120_000);
  assert.equal(Socket.instances.length, 1);
});
