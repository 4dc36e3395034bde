// Wiring of the live portfolio page: store, view, socket, REST sync, status, announcements.
// Everything here is glue; the logic lives in the modules it imports.

import { Announcer } from "./announcer.js";
import { ApiError, requestJson } from "./api.js";
import { ago, signedPct, signedUsd, price, qty, trend, usd } from "./format.js";
import { LiveClient } from "./live_client.js";
import { PortfolioView } from "./render.js";
import { EquityHistory, SparklineView } from "./sparkline.js";
import { freshness } from "./staleness.js";
import { connectionView, StatusIndicator } from "./status.js";
import { PortfolioStore } from "./store.js";
import { SyncController } from "./sync.js";
import { bindCancelButtons, OrderTicket } from "./ticket.js";

const TICK_MS = 1_000;

function localStore() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function transitionMessage({ to, order }) {
  const what = `${order.side} ${qty(order.qty)} ${order.symbol}`;
  if (to === "filled") {
    const verb = order.side === "buy" ? "Bought" : "Sold";
    return `Order filled: ${verb} ${qty(order.filled_qty)} ${order.symbol} at ${price(order.filled_avg_price)}.`;
  }
  if (to === "partially_filled") return `Order partly filled: ${qty(order.filled_qty)} of ${qty(order.qty)} ${order.symbol}.`;
  if (to === "canceled") return `Order canceled: ${what}.`;
  if (to === "rejected") return `Order rejected: ${what}.${order.reject_reason ? ` ${order.reject_reason}` : ""}`;
  if (to === "expired") return `Order expired: ${what}.`;
  return null;
}

function boot(root) {
  // The rollout gate's answer; the REST snapshot repeats it, so a polling page learns when
  // the stream is turned on for this user and opens the socket.
  let realtime = root.dataset.realtime === "on";
  const initial = JSON.parse(document.getElementById("portfolio-snapshot").textContent);
  const loginUrl = root.dataset.loginUrl;

  const store = new PortfolioStore();
  store.hydrate(initial);
  const view = new PortfolioView(root);
  const announcer = new Announcer({ region: document.getElementById("announcer") });
  const statusElement = document.getElementById("connection-status");
  const status = new StatusIndicator(statusElement);
  const stalenessBanner = document.getElementById("staleness");

  function goToLogin() {
    window.location.assign(`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
  }

  // --- Day sparkline ---------------------------------------------------------------------------
  const history = new EquityHistory({
    storage: localStore(),
    key: `portfolio-stream:equity:${root.dataset.username}:${initial.account.trading_day || "today"}`,
  });
  const sparkline = new SparklineView(document.getElementById("day-sparkline"));
  function drawSparkline() {
    const account = store.account;
    history.add(Date.now(), account.equity);
    sparkline.render(history.points, account.last_equity, {
      trend: trend(account.day_pl),
      label: `Equity today: ${usd(account.equity)}, ${signedUsd(account.day_pl)} (${signedPct(account.day_pl_pct)}) since the previous close of ${usd(account.last_equity)}.`,
    });
  }
  drawSparkline();

  // --- REST sync -------------------------------------------------------------------------------
  async function fetchSnapshot() {
    const response = await requestJson(root.dataset.snapshotUrl);
    if (response.status === 401 || response.status === 403) {
      goToLogin();
      throw new ApiError(response.status, response.data);
    }
    if (!response.ok) throw new ApiError(response.status, response.data);
    return response.data;
  }
  const sync = new SyncController({
    fetchSnapshot,
    store,
    onResult: (result) => {
      if (result.ok) followRollout(result.snapshot.realtime_enabled);
      render(Date.now());
    },
  });

  // --- Store -> page ---------------------------------------------------------------------------
  store.subscribe((change) => {
    view.render(change, store);
    view.renderAges(store, Date.now());
    sync.noteChange(change);
    if (change.account) {
      drawSparkline();
      if (change.account.fields.day_pl) {
        const a = change.account.row;
        announcer.pl(`Day P&L ${signedUsd(a.day_pl)}, ${signedPct(a.day_pl_pct)}. Equity ${usd(a.equity)}.`);
      }
    }
    if (change.source === "socket") {
      for (const transition of change.transitions) {
        const message = transitionMessage(transition);
        if (message) announcer.event(message);
      }
    }
  });

  // --- Socket ----------------------------------------------------------------------------------
  let clientState = realtime ? "connecting" : "disabled";
  let clientInfo = {};
  let client = null;
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  function startClient() {
    client = new LiveClient({
        url: `${scheme}//${window.location.host}${root.dataset.wsPath}`,
        onActivity: () => store.confirm(Date.now()),
        onFrame: (frame) => {
          if (frame.type === "snapshot") {
            store.applySnapshotFrame(frame);
            return undefined;
          }
          if (frame.type === "error") return undefined;
          return store.applyEvent(frame);
        },
        onState: (state, info) => {
          clientState = state;
          clientInfo = info;
          const live = state === "live";
          sync.setMode(live ? "live" : "fallback");
          root.dataset.syncMode = live ? "live" : state === "connecting" && !info.everLive && !info.downSince ? "connecting" : "polling";
          root.dataset.clientState = state;
          if (state === "disabled") {
            realtime = false;
            root.dataset.realtime = "off";
          }
          if (state === "logged_out") goToLogin();
          render(Date.now());
        },
      });
    window.portfolioLive.client = client;
    client.start();
  }

  /** A poll said whether the stream is on for this user: open the socket once it is. */
  function followRollout(enabled) {
    if (enabled !== true || (client && clientState !== "disabled")) return;
    realtime = true;
    root.dataset.realtime = "on";
    clientState = "connecting";
    startClient();
  }

  // --- Status, staleness banner ------------------------------------------------------------------
  let shownFreshness = "fresh";
  function renderStaleness(now) {
    const state = freshness(now, store.confirmedAt);
    const age = ago(now - store.confirmedAt);
    const banner = stalenessBanner;
    if (banner.dataset.staleness !== state) {
      banner.dataset.staleness = state;
      root.dataset.freshness = state;
      banner.hidden = state === "fresh";
      banner.querySelector("[data-staleness-text]").textContent =
        state === "stale" ? "Portfolio data is stale - click to refresh" : "Portfolio data may be delayed";
      if (state !== "fresh" || shownFreshness !== "fresh") {
        announcer.event(state === "fresh" ? "Portfolio data is up to date again." : banner.querySelector("[data-staleness-text]").textContent);
      }
      shownFreshness = state;
    }
    const detail = state === "delayed" ? `Last confirmed ${age}. Refresh now` : `Last confirmed ${age}.`;
    const slot = banner.querySelector("[data-staleness-detail]");
    if (slot.textContent !== detail) slot.textContent = detail;
  }

  function renderStatus(now) {
    const view = connectionView({
      state: clientState,
      info: clientInfo,
      online: navigator.onLine,
      realtime,
      now,
      lastSyncAt: store.confirmedAt,
      pollMs: sync.interval,
    });
    if (status.render(view)) announcer.event(view.label);
  }

  function render(now) {
    renderStatus(now);
    renderStaleness(now);
  }

  function refreshNow(reason) {
    if (client) client.reconnectNow(reason);
    return sync.refresh(reason);
  }

  statusElement.addEventListener("click", () => {
    if (clientState !== "live") refreshNow("status clicked");
  });
  statusElement.addEventListener("keydown", (event) => {
    if (event.key === "Escape") statusElement.parentElement.dataset.tipHidden = "true";
  });
  statusElement.addEventListener("blur", () => delete statusElement.parentElement.dataset.tipHidden);
  stalenessBanner.addEventListener("click", () => refreshNow("staleness banner"));

  window.addEventListener("online", () => {
    if (client) client.reconnectNow("browser online");
    else sync.refresh("browser online");
    render(Date.now());
  });
  window.addEventListener("offline", () => {
    if (client) client.dropConnection("browser offline");
    render(Date.now());
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && client) client.reconnectNow("tab visible");
  });
  window.addEventListener("pagehide", () => history.save());

  // --- Order ticket, cancel buttons ------------------------------------------------------------
  const ordersUrl = root.dataset.ordersUrl;
  new OrderTicket({
    form: document.getElementById("ticket-form"),
    store,
    ordersUrl,
    announce: (text) => announcer.event(text),
    onPlaced: () => sync.orderPlaced(),
  });
  bindCancelButtons(document.getElementById("open-orders"), {
    orderUrl: (id) => `${ordersUrl}${encodeURIComponent(id)}/`,
    announce: (text) => announcer.event(text),
  });

  // --- Go ----------------------------------------------------------------------------------------
  function tick() {
    const now = Date.now();
    view.renderFeeds(store, now);
    view.renderAges(store, now);
    render(now);
    sync.tick();
  }
  tick();
  window.setInterval(tick, TICK_MS);
  // For debugging in the console and for the browser tests; not an API.
  window.portfolioLive = { store, client, sync, announcer, history };
  sync.start();
  if (realtime) startClient();
  else root.dataset.syncMode = "polling";
}

const root = document.getElementById("portfolio");
if (root) boot(root);
