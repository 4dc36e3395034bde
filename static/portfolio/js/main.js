// Wiring of the live portfolio page: store, view, socket, REST sync, status, announcements.
// Everything here is glue; the logic lives in the modules it imports.

import { Announcer } from "./announcer.js";
import { ApiError, requestJson } from "./api.js";
import { ago, signedPct, signedUsd, trend, usd } from "./format.js";
import { LiveClient } from "./live_client.js";
import { OrderHistory, OrderHistoryLoader, OrderHistoryView } from "./order_history.js";
import { PortfolioView } from "./render.js";
import { clockLabel, HISTORY_REFRESH_MS, IntradaySeries, SparklineView } from "./sparkline.js";
import { freshness } from "./staleness.js";
import { connectionView, StatusIndicator } from "./status.js";
import { PortfolioStore } from "./store.js";
import { isOpenOrder } from "./store_rows.js";
import { SyncController } from "./sync.js";
import { bindCancelButtons, clearStaleCancelNotes, OrderTicket } from "./ticket.js";
import { bindTradeShortcuts } from "./trade_shortcuts.js";
import { orderToast, Toaster } from "./toasts.js";

const TICK_MS = 1_000;

// Orders that left the open list without the stream saying how (a poll, a snapshot after a
// reconnect) are looked up once, so their outcome still gets its toast.
const MAX_OUTCOME_LOOKUPS = 5;
const OUTCOME_MEMORY = 50;

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
  const toaster = new Toaster({ container: document.getElementById("toasts"), announce: (text) => announcer.event(text) });
  const outcomes = new Map(); // order id -> its latest outcome toast (the ticket may ask late)
  let ticket = null;

  function goToLogin() {
    window.location.assign(`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
  }

  // --- Day chart: the server's intraday history, continued live -------------------------------
  const series = new IntradaySeries();
  const sparkline = new SparklineView(document.getElementById("day-sparkline"));
  let tradingDay = initial.account.trading_day || null;
  let historyLoading = null;
  function drawSparkline() {
    const account = store.account;
    const points = series.points;
    const span = points.length > 1 ? ` The chart shows ${points.length} points from ${clockLabel(points[0][0])} to ${clockLabel(points[points.length - 1][0])} UTC.` : "";
    sparkline.render(points, account.last_equity, {
      trend: trend(account.day_pl),
      source: series.source,
      label: `Equity today: ${usd(account.equity)}, ${signedUsd(account.day_pl)} (${signedPct(account.day_pl_pct)}) since the previous close of ${usd(account.last_equity)}.${span}`,
    });
  }
  function fetchEquityHistory(reason) {
    if (historyLoading) return historyLoading;
    historyLoading = (async () => {
      try {
        const response = await requestJson(root.dataset.historyUrl);
        if (response.ok && series.applyHistory(response.data, Date.now())) drawSparkline();
        else if (!response.ok) console.warn(`[chart] history (${reason}): HTTP ${response.status}`);
      } catch (error) {
        console.warn(`[chart] history (${reason}) failed: ${error && error.message ? error.message : error}`);
      } finally {
        historyLoading = null;
      }
    })();
    return historyLoading;
  }
  /** A new equity from the stream or a poll: onto the chart (a new trading day starts over). */
  function chartAccount(account) {
    if (account.trading_day && tradingDay && account.trading_day !== tradingDay) {
      series.reset();
      fetchEquityHistory("new trading day");
    }
    tradingDay = account.trading_day || tradingDay;
    series.add(account.equity);
    drawSparkline();
  }
  series.add(initial.account.equity);
  drawSparkline();
  fetchEquityHistory("page opened");

  // --- Order history -----------------------------------------------------------------------------
  const historySection = document.querySelector("[data-order-history]");
  const orderHistory = new OrderHistory();
  orderHistory.addPage(JSON.parse(document.getElementById("order-history-data").textContent));
  const historyView = new OrderHistoryView(historySection, document.getElementById("history-row-template"));
  const historyLoader = new OrderHistoryLoader({
    history: orderHistory,
    view: historyView,
    firstUrl: root.dataset.historyOrdersUrl,
    fetchPage: (path) => requestJson(path),
    base: window.location.href,
  });
  historySection.querySelector("[data-history-more]").addEventListener("click", () => historyLoader.more());

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
      if (result.ok) clearStaleErrors();
      // Polling (or the live page's backup poll): the chart's history now and then, too.
      if (result.ok && (series.fetchedAt === null || Date.now() - series.fetchedAt >= HISTORY_REFRESH_MS)) fetchEquityHistory("poll");
      render(Date.now());
    },
  });

  // --- Store -> page ---------------------------------------------------------------------------
  store.subscribe((change) => {
    view.render(change, store);
    renderFreshness(Date.now());
    sync.noteChange(change);
    if (change.account) {
      chartAccount(change.account.row);
      if (change.account.fields.day_pl) {
        const a = change.account.row;
        announcer.pl(`Day P&L ${signedUsd(a.day_pl)}, ${signedPct(a.day_pl_pct)}. Equity ${usd(a.equity)}.`);
      }
    }
    // Outcomes from the stream, a poll or a snapshot; the ticket's own POST answer is handled
    // in onPlaced below.
    if (change.source !== "placed") for (const transition of change.transitions) orderOutcome(transition.order);
    if (change.source === "rest" || change.source === "snapshot") lookUpOutcomes(change);
  });

  /** Toast an order's outcome once and tell the ticket, if it is the ticket's order. */
  function orderOutcome(order) {
    if (!isOpenOrder(order)) historyLoader.note(order); // into the history at once
    const toast = orderToast(order);
    if (!toast) return;
    outcomes.set(order.id, toast);
    if (outcomes.size > OUTCOME_MEMORY) outcomes.delete(outcomes.keys().next().value);
    toaster.show(toast);
    if (ticket) ticket.showOutcome(order.id, toast);
  }

  async function lookUpOutcomes(change) {
    const told = new Set(change.transitions.map((t) => t.id));
    const untold = [...change.removedOrders].filter((id) => !told.has(id));
    // Orders that ended out of the stream's sight: the history's newest page has them all.
    if (untold.length) historyLoader.refresh();
    const ids = untold.filter((id) => !outcomes.has(id)).slice(0, MAX_OUTCOME_LOOKUPS);
    for (const id of ids) {
      try {
        const response = await requestJson(`${root.dataset.ordersUrl}${encodeURIComponent(id)}/`);
        if (response.ok && response.data) orderOutcome(response.data);
      } catch {
        // The next poll or reconnect tells the rest; a missing toast is not worth a retry loop.
      }
    }
  }

  // --- Socket ----------------------------------------------------------------------------------
  let clientState = realtime ? "connecting" : "disabled";
  let clientInfo = {};
  let client = null;
  let wasEverLive = false;
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
          const back = state === "live" && clientState !== "live" && info.everLive && wasEverLive;
          clientState = state;
          clientInfo = info;
          const live = state === "live";
          if (live) wasEverLive = true;
          // Back after a drop: what the chart and the history missed meanwhile.
          if (back) {
            fetchEquityHistory("reconnected");
            historyLoader.refresh();
          }
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

  // The server answers again (socket live, or a poll succeeded): errors that said it did not
  // are stale.
  let wasLive = false;
  function clearStaleErrors() {
    if (ticket) ticket.clearStaleErrors();
    clearStaleCancelNotes(document.getElementById("open-orders"));
  }

  function render(now) {
    const live = clientState === "live";
    if (live && !wasLive) clearStaleErrors();
    wasLive = live;
    renderStatus(now);
    renderStaleness(now);
    renderFreshness(now);
  }

  /** Price badges and section notes: none says "live" unless the socket streams. */
  function renderFreshness(now) {
    const live = clientState === "live";
    const starting = realtime && !live && !clientInfo.everLive && !clientInfo.downSince;
    view.renderFeeds(store, now, live ? "live" : starting ? "starting" : "down");
    view.renderAges(store, now, live);
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

  // --- Order ticket, cancel buttons ------------------------------------------------------------
  const ordersUrl = root.dataset.ordersUrl;
  const errorToast = (text) => toaster.show({ kind: "error", text });
  ticket = new OrderTicket({
    form: document.getElementById("ticket-form"),
    store,
    ordersUrl,
    announce: (text) => announcer.event(text),
    onError: errorToast,
    onPlaced: (order) => {
      sync.orderPlaced();
      // The stream can beat the POST's answer, and an order can end at once.
      if (outcomes.has(order.id)) ticket.showOutcome(order.id, outcomes.get(order.id));
      else orderOutcome(order);
    },
  });
  bindCancelButtons(document.getElementById("open-orders"), {
    orderUrl: (id) => `${ordersUrl}${encodeURIComponent(id)}/`,
    announce: (text) => announcer.event(text),
    onError: errorToast,
  });
  bindTradeShortcuts({
    positions: document.getElementById("positions"),
    ticketSection: document.getElementById("order-ticket"),
    bar: document.getElementById("trade-bar"),
    ticket,
  });

  // --- Go ----------------------------------------------------------------------------------------
  function tick() {
    render(Date.now());
    sync.tick();
  }
  tick();
  window.setInterval(tick, TICK_MS);
  // For debugging in the console and for the browser tests; not an API.
  window.portfolioLive = { store, client, sync, announcer, series, orderHistory, historyLoader, toaster };
  sync.start();
  if (realtime) startClient();
  else root.dataset.syncMode = "polling";
}

const root = document.getElementById("portfolio");
if (root) boot(root);
