// Freshness clocks: how old each piece of the page is, and what the page should say about it.
// Pure functions and small classes; times are epoch milliseconds passed in, never read here.

export const PRICE_LIVE_MS = 5_000; // "Live" while the price moved in the last 5 s
export const PRICE_DELAYED_MS = 30_000; // "Delayed" once it has not moved for 30 s
export const DELAYED_AFTER_MS = 60_000; // yellow "Portfolio data may be delayed"
export const STALE_AFTER_MS = 300_000; // red "Portfolio data is stale - click to refresh"
export const SECTION_REFETCH_MS = 60_000; // a section this quiet is refetched over REST

/** fresh | delayed | stale, from the last moment the server confirmed the data. */
export function freshness(now, lastConfirmedAt) {
  if (lastConfirmedAt === null || lastConfirmedAt === undefined) return "stale";
  const age = now - lastConfirmedAt;
  if (age >= STALE_AFTER_MS) return "stale";
  if (age >= DELAYED_AFTER_MS) return "delayed";
  return "fresh";
}

/**
 * The price badge of one symbol: live (moved < 5 s ago), fading (5-30 s), delayed (30 s+).
 * Before the first move seen, the watch's start stands in, so a quiet symbol turns
 * "delayed" 30 s after the page started watching instead of claiming a freshness it never saw.
 */
export function priceFeedState(now, movedAt, watchingSince) {
  if (movedAt === null || movedAt === undefined) {
    return now - watchingSince >= PRICE_DELAYED_MS ? "delayed" : "unknown";
  }
  const age = now - movedAt;
  if (age < PRICE_LIVE_MS) return "live";
  if (age < PRICE_DELAYED_MS) return "fading";
  return "delayed";
}

/**
 * What a position's feed cell shows: {feed, text, fading}. `feed` is the page hook data-feed
 * (live, delayed, unknown). `connection` is "live" (the socket streams), "starting" (the page's
 * first connection is opening: nothing known yet) or "down" (dropped, or polling): while the
 * socket is not streaming no price is live, whatever it did before.
 */
export function feedBadge(state, connection) {
  if (connection === "starting") return { feed: "unknown", text: "", fading: false };
  if (connection !== "live") return { feed: "delayed", text: "Delayed", fading: false };
  if (state === "live") return { feed: "live", text: "Live", fading: false };
  if (state === "fading") return { feed: "live", text: "Live", fading: true };
  if (state === "delayed") return { feed: "delayed", text: "Delayed", fading: false };
  return { feed: "unknown", text: "", fading: false };
}

/**
 * The freshness note of a section: "Live" while the socket streams (a quiet section is simply
 * quiet, not late), "Updated 42s ago" otherwise, `quiet` once that passes a minute.
 */
export function sectionNote(ageMs, connected, agoText) {
  if (connected) return { text: "Live", quiet: false, title: `Streaming: changes show as they happen. Last change ${agoText}.` };
  return { text: `Updated ${agoText}`, quiet: ageMs >= SECTION_REFETCH_MS, title: "When the server last confirmed this section" };
}

/** When each section (or symbol) last received data, and which ones have gone quiet. */
export class SectionClock {
  constructor(sections, now) {
    this.updatedAt = new Map(sections.map((name) => [name, now]));
  }

  touch(section, at) {
    const previous = this.updatedAt.get(section);
    if (previous === undefined || at > previous) this.updatedAt.set(section, at);
  }

  touchAll(at) {
    for (const section of this.updatedAt.keys()) this.touch(section, at);
  }

  age(section, now) {
    const at = this.updatedAt.get(section);
    return at === undefined ? Infinity : now - at;
  }

  /** Sections with no update for `quietMs` or longer. */
  quiet(now, quietMs = SECTION_REFETCH_MS) {
    return [...this.updatedAt.keys()].filter((section) => this.age(section, now) >= quietMs);
  }
}
