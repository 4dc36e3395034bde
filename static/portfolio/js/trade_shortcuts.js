// Ways into the order ticket: a tap (or click) on a position puts its symbol in the ticket, and
// on a phone a Buy/Sell bar stays at the bottom of the screen until the ticket is in view.

const INTERACTIVE = "a, button, input, select, textarea, label, summary";

function reducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

/**
 * Scroll the ticket into view and focus its next empty field (the quantity, usually). On a
 * phone the ticket comes to the top; beside the tables it scrolls only as far as needed.
 */
function openTicket(section, form) {
  const narrow = window.matchMedia && window.matchMedia("(max-width: 720px)").matches;
  section.scrollIntoView({ behavior: reducedMotion() ? "auto" : "smooth", block: narrow ? "start" : "nearest" });
  const symbol = form.elements.namedItem("symbol");
  const target = symbol.value.trim() ? form.elements.namedItem("qty") : symbol;
  target.focus({ preventScroll: true });
}

export function bindTradeShortcuts({ positions, ticketSection, bar, ticket }) {
  const form = ticket.form;
  positions.querySelector("tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-symbol]");
    if (!row || event.target.closest(INTERACTIVE)) return;
    const selection = window.getSelection && window.getSelection();
    if (selection && String(selection).trim()) return; // selecting a figure, not choosing it
    ticket.prefill({ symbol: row.dataset.symbol });
    openTicket(ticketSection, form);
  });

  if (!bar) return;
  bar.hidden = false;
  bar.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-trade-side]");
    if (!button) return;
    ticket.prefill({ side: button.dataset.tradeSide });
    openTicket(ticketSection, form);
  });
  // The bar steps aside while the ticket itself is on screen.
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(
      (entries) => {
        for (const entry of entries) bar.dataset.ticketVisible = entry.isIntersecting ? "true" : "false";
      },
      { threshold: 0.15 },
    ).observe(ticketSection);
  }
}
