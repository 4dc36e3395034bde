// Change animations. A changed figure gets a background tint that fades within ~1.2 s: green
// when it went up, red when it went down, blue when it merely changed. The text colour is never
// touched here: it always follows the value's sign (.up / .down, set by render.js), so a flash
// cannot paint a gain red. With `motion`, a P&L figure also swells (up) or shakes (down); the
// caller keeps that for meaningful changes, and under prefers-reduced-motion the CSS drops it.

export const FLASH_MS = 1_200;
const KINDS = ["flash-up", "flash-down", "flash-changed", "flash-new", "flash-motion"];
const timers = new WeakMap();

/** kind: "up" | "down" | "changed" | "new". Restarts the animation if one is running. */
export function flash(element, kind, { motion = false } = {}) {
  const names = motion ? [`flash-${kind}`, "flash-motion"] : [`flash-${kind}`];
  element.classList.remove(...KINDS);
  void element.offsetWidth; // reflow, so re-adding the class starts the animation again
  element.classList.add(...names);
  clearTimeout(timers.get(element));
  timers.set(
    element,
    setTimeout(() => element.classList.remove(...names), FLASH_MS),
  );
}
