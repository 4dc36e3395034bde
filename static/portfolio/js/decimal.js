// Exact decimal strings: the server sends money, prices and quantities as strings, and this
// page never turns them into floats. A value is {neg, mag, scale}: mag / 10^scale, BigInt.

const DECIMAL_RE = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** "−12.50" -> {neg: true, mag: 1250n, scale: 2}; null for anything that is not a decimal. */
export function parseDecimal(text) {
  if (typeof text !== "string") return null;
  const match = DECIMAL_RE.exec(text.trim());
  if (!match) return null;
  const fraction = match[3] || "";
  const mag = BigInt(match[2] + fraction);
  const minus = match[1] === "-";
  // negZero keeps "-0.000" distinguishable, as Python's Decimal does when formatting it.
  return { neg: minus && mag !== 0n, mag, scale: fraction.length, negZero: minus && mag === 0n };
}

export function isDecimalString(text) {
  return parseDecimal(text) !== null;
}

function signed(d) {
  return d.neg ? -d.mag : d.mag;
}

function rescale(d, scale) {
  return signed(d) * 10n ** BigInt(scale - d.scale);
}

/** -1, 0 or 1; both arguments are decimal strings (or parsed values). */
export function compareDecimal(a, b) {
  const x = typeof a === "string" ? parseDecimal(a) : a;
  const y = typeof b === "string" ? parseDecimal(b) : b;
  const scale = Math.max(x.scale, y.scale);
  const p = rescale(x, scale);
  const q = rescale(y, scale);
  return p === q ? 0 : p > q ? 1 : -1;
}

export function signOf(d) {
  return d.mag === 0n ? 0 : d.neg ? -1 : 1;
}

/** Round to `places` fraction digits, half to even (Python's Decimal default). */
export function roundHalfEven(d, places) {
  if (d.scale <= places) {
    return { neg: d.neg, mag: d.mag * 10n ** BigInt(places - d.scale), scale: places };
  }
  const divisor = 10n ** BigInt(d.scale - places);
  let quotient = d.mag / divisor;
  const remainder = d.mag % divisor;
  const twice = remainder * 2n;
  if (twice > divisor || (twice === divisor && quotient % 2n === 1n)) quotient += 1n;
  return { neg: d.neg, mag: quotient, scale: places };
}

/** Fraction digits left once trailing zeros are gone (Decimal.normalize()'s exponent). */
export function significantPlaces(d) {
  if (d.mag === 0n) return 0;
  let places = d.scale;
  let mag = d.mag;
  while (places > 0 && mag % 10n === 0n) {
    mag /= 10n;
    places -= 1;
  }
  return places;
}

/** The magnitude with `places` digits and thousands separators: "1,234.50". */
export function groupedMagnitude(d, places, round = roundHalfEven) {
  const rounded = round(d, places);
  const digits = rounded.mag.toString().padStart(places + 1, "0");
  const whole = digits.slice(0, digits.length - places);
  const fraction = digits.slice(digits.length - places);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return places > 0 ? `${grouped}.${fraction}` : grouped;
}

/** a * b, exactly. */
export function multiplyDecimal(a, b) {
  const x = typeof a === "string" ? parseDecimal(a) : a;
  const y = typeof b === "string" ? parseDecimal(b) : b;
  const mag = x.mag * y.mag;
  return { neg: x.neg !== y.neg && mag !== 0n, mag, scale: x.scale + y.scale };
}

/** d * 10^n for n >= 0 (a fraction as a percentage), exactly. */
export function shiftDecimal(d, n) {
  if (d.scale >= n) return { neg: d.neg, mag: d.mag, scale: d.scale - n };
  return { neg: d.neg, mag: d.mag * 10n ** BigInt(n - d.scale), scale: 0 };
}

/** Back to a plain string at the value's own scale. */
export function decimalToString(d) {
  const digits = d.mag.toString().padStart(d.scale + 1, "0");
  const whole = digits.slice(0, digits.length - d.scale);
  const fraction = digits.slice(digits.length - d.scale);
  return `${d.neg ? "-" : ""}${whole}${d.scale > 0 ? `.${fraction}` : ""}`;
}

/** Round to `places` fraction digits, half away from zero (Django's floatformat). */
export function roundHalfUp(d, places) {
  if (d.scale <= places) {
    return { neg: d.neg, mag: d.mag * 10n ** BigInt(places - d.scale), scale: places };
  }
  const divisor = 10n ** BigInt(d.scale - places);
  let quotient = d.mag / divisor;
  if ((d.mag % divisor) * 2n >= divisor) quotient += 1n;
  return { neg: d.neg && quotient !== 0n, mag: quotient, scale: places };
}

/** a - b, exactly. */
export function subtractDecimal(a, b) {
  const x = typeof a === "string" ? parseDecimal(a) : a;
  const y = typeof b === "string" ? parseDecimal(b) : b;
  const scale = Math.max(x.scale, y.scale);
  const diff = rescale(x, scale) - rescale(y, scale);
  return { neg: diff < 0n, mag: diff < 0n ? -diff : diff, scale };
}

/** |d|. */
export function absDecimal(d) {
  return { neg: false, mag: d.mag, scale: d.scale };
}

/** a + b, exactly. */
export function addDecimal(a, b) {
  const x = typeof a === "string" ? parseDecimal(a) : a;
  const y = typeof b === "string" ? parseDecimal(b) : b;
  const scale = Math.max(x.scale, y.scale);
  const sum = rescale(x, scale) + rescale(y, scale);
  return { neg: sum < 0n, mag: sum < 0n ? -sum : sum, scale };
}
