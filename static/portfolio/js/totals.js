// Figures the page derives from the server's rows, exactly (decimal strings, never floats): the
// positions' total unrealized P&L, and what a fill or a finished order was worth.

import { addDecimal, decimalToString, multiplyDecimal, parseDecimal } from "./decimal.js";

/** Drop trailing zeros, keeping at least `minPlaces` fraction digits: 2146.03100 -> 2146.031. */
export function trimDecimal(d, minPlaces = 2) {
  let { mag, scale } = d;
  while (scale > minPlaces && mag % 10n === 0n) {
    mag /= 10n;
    scale -= 1;
  }
  if (scale < minPlaces) {
    mag *= 10n ** BigInt(minPlaces - scale);
    scale = minPlaces;
  }
  return { neg: d.neg && mag !== 0n, mag, scale };
}

/** The exact sum of decimal strings ("0.00" for none); null if one of them is not a decimal. */
export function sumDecimals(values) {
  let total = parseDecimal("0.00");
  for (const value of values) {
    const amount = parseDecimal(value);
    if (!amount) return null;
    total = addDecimal(total, amount);
  }
  return decimalToString(total);
}

/** Sum of the positions' `unrealized_pl` (an iterable of rows), as a decimal string. */
export function totalUnrealizedPl(positions) {
  return sumDecimals([...positions].map((position) => position.unrealized_pl));
}

/**
 * qty x price, exact, without trailing zeros beyond the cents ("10" x "214.6031" ->
 * "2146.031"); null when either is missing. The same digits as pages.py's exact_value().
 */
export function valueOf(qty, price) {
  const q = parseDecimal(qty ?? "");
  const p = parseDecimal(price ?? "");
  if (!q || !p) return null;
  return decimalToString(trimDecimal(multiplyDecimal(q, p)));
}

/** What a finished order traded: filled_qty x filled_avg_price; null when nothing filled. */
export function orderValue(order) {
  const filled = parseDecimal(order.filled_qty ?? "");
  if (!filled || filled.mag === 0n) return null;
  return valueOf(order.filled_qty, order.filled_avg_price);
}
