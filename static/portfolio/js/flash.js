// Change animations: a cell that went up flashes green (with a slight scale on P&L figures),
// one that went down flashes red (with a short shake), then both revert. The CSS decides the
// motion, and under prefers-reduced-motion it keeps only the colour.

export const FLASH_MS = 1_200;
const KINDS = ["flash-up", "flash-down", "flash-changed", "flash-new"];
const timers = new WeakMap();

/** kind: "up" | "down" | "changed" | "new". Restarts the animation if one is running. */
export function flash(element, kind) {
  const name = `flash-${kind}`;
  element.classList.remove(...KINDS);
  void element.offsetWidth; // reflow, so re-adding the class starts the animation again
  element.classList.add(name);
  clearTimeout(timers.get(element));
  timers.set(
    element,
    setTimeout(() => element.classList.remove(name), FLASH_MS),
  );
}
