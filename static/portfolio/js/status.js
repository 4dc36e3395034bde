// The connection status shown in the header: what the socket is doing, in three states that
// tests outside the project rely on (data-connection-status: connected, connecting,
// disconnected), with a label, a colour and a tooltip that says what the page is doing about it.

import { ago } from "./format.js";

// A drop is "offline" (red) only once reconnecting has failed for this long: a time, not a
// count of attempts, since a routine restart fails several fast attempts in its first second.
// The user guide (docs/user/real-time-updates.md) promises the same 15 s.
export const OFFLINE_AFTER_MS = 15_000;

export const LABELS = Object.freeze({
  connected: "Connected to live updates",
  connecting: "Connecting...",
  reconnecting: "Reconnecting...",
  offline: "Offline - using cached data",
  disabled: "Live updates off",
  loggedOut: "Signed out",
});

function seconds(ms) {
  return `${Math.max(0, Math.ceil(ms / 1000))}s`;
}

/**
 * The indicator for a client state. `info` is what LiveClient reports (failures, downSince,
 * retryAt, everLive); `online` is navigator.onLine; `lastSyncAt` the last confirmed data.
 */
export function connectionView({ state, info = {}, online = true, realtime = true, now, lastSyncAt, pollMs }) {
  const synced = lastSyncAt ? `Last update ${ago(now - lastSyncAt)}.` : "";
  const retry = info.retryAt ? ` Next attempt in ${seconds(info.retryAt - now)}.` : "";
  if (!realtime || state === "disabled") {
    return {
      status: "disconnected",
      tone: "off",
      label: LABELS.disabled,
      detail: `Live updates are not enabled for your account. The page refreshes from the server every ${pollMs / 1000} s. ${synced}`,
    };
  }
  if (state === "logged_out") {
    return { status: "disconnected", tone: "offline", label: LABELS.loggedOut, detail: "You were signed out. Sign in again to continue." };
  }
  if (state === "live") {
    return {
      status: "connected",
      tone: "connected",
      label: LABELS.connected,
      detail: `Prices, orders and P&L arrive as they change. ${synced}`,
    };
  }
  const downFor = info.downSince ? now - info.downSince : 0;
  if (!online || downFor >= OFFLINE_AFTER_MS) {
    const why = online ? "The live connection is down." : "Your device is offline.";
    return {
      status: "disconnected",
      tone: "offline",
      label: LABELS.offline,
      detail: `${why} Showing the last data received and refreshing every ${pollMs / 1000} s. ${synced}${retry}`,
    };
  }
  const first = !info.everLive && !info.downSince;
  return {
    status: "connecting",
    tone: "connecting",
    label: first ? LABELS.connecting : LABELS.reconnecting,
    detail: first
      ? "Opening the live connection."
      : `The live connection dropped; reconnecting. Showing the last data received. ${synced}${retry}`,
  };
}

/** Binds the view to the header element (a button with a tooltip). */
export class StatusIndicator {
  constructor(element) {
    this.element = element;
    this.label = element.querySelector("[data-status-label]");
    this.tip = document.getElementById(element.getAttribute("aria-describedby"));
    this.current = null;
  }

  render(view) {
    const { element } = this;
    if (element.dataset.connectionStatus !== view.status) element.dataset.connectionStatus = view.status;
    if (element.dataset.tone !== view.tone) element.dataset.tone = view.tone;
    if (this.label && this.label.textContent !== view.label) this.label.textContent = view.label;
    const detail = view.detail.trim();
    if (this.tip && this.tip.textContent !== detail) this.tip.textContent = detail;
    const changed = this.current !== null && this.current.label !== view.label;
    this.current = view;
    return changed;
  }
}
