// The JS formats must match trading/templatetags/trading_format.py character for character
// (test_format_parity.py checks a large table against Python itself).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  compareDecimal,
  decimalToString,
  multiplyDecimal,
  parseDecimal,
  roundHalfEven,
  roundHalfUp,
  subtractDecimal,
} from "../../static/portfolio/js/decimal.js";
import { ago, exactPrice, price, qty, signedPct, signedUsd, statusLabel, timestamp, trend, usd, isoForAttribute } from "../../static/portfolio/js/format.js";

// The same cases as tests/trading/test_pages.py::test_display_filters (exactPrice is the
// server's `price` filter, which the page now shows in tooltips).
const CASES = [
  [usd, "-1234.5", "-$1,234.50"],
  [usd, null, "\u2014"],
  [signedUsd, "12.00", "+$12.00"],
  [signedUsd, "-3.10", "-$3.10"],
  [signedUsd, "0.00", "$0.00"],
  [signedPct, "0.012345", "+1.23%"],
  [signedPct, "-0.5", "-50.00%"],
  [signedPct, "-0.000001", "0.00%"],
  [exactPrice, "200.00000000", "$200.00"],
  [exactPrice, "10.12340000", "$10.1234"],
  [exactPrice, "1500", "$1,500.00"],
  [qty, "1000.000000", "1,000"],
  [qty, "-2.500000", "-2.5"],
  [trend, "-0.01", "down"],
  [trend, "0", "flat"],
  [trend, "not a number", "flat"],
];

test("formats match the server's filters", () => {
  for (const [format, value, expected] of CASES) {
    assert.equal(format(value), expected, `${format.name}(${value})`);
  }
});

test("money: grouping, the issue's examples, half-even rounding like Python's Decimal", () => {
  assert.equal(usd("2000.00"), "$2,000.00");
  assert.equal(signedUsd("1234.50"), "+$1,234.50");
  assert.equal(signedPct("0.012300"), "+1.23%");
  assert.equal(qty("10.000000"), "10");
  assert.equal(usd("98000.00"), "$98,000.00");
  assert.equal(usd("1234567.891"), "$1,234,567.89");
  assert.equal(usd("0.125"), "$0.12"); // half to even
  assert.equal(usd("0.135"), "$0.14");
  assert.equal(usd("-0.001"), "-$0.00"); // Python keeps the sign of the unrounded amount
  assert.equal(signedPct("0.0001235"), "+0.01%");
  assert.equal(signedPct("-0.00005"), "0.00%"); // -0.005 % rounds to zero (half even)
  assert.equal(signedPct("-0.00015"), "-0.02%");
  assert.equal(exactPrice("0.00010000"), "$0.0001");
  assert.equal(exactPrice("1234567.5"), "$1,234,567.50");
  assert.equal(qty("0.500000"), "0.5");
  assert.equal(qty("-1250"), "-1,250");
  assert.equal(qty(""), "\u2014");
  assert.equal(usd(undefined), "\u2014");
  assert.equal(usd("1e5"), "\u2014"); // not a decimal string
});

test("prices read at 2 decimals (4 below $1), the exact value kept for the tooltip", () => {
  // The example: 3 AAPL bought on top of 50 averaged to 213.34754717.
  assert.equal(price("213.34754717"), "$213.35");
  assert.equal(exactPrice("213.34754717"), "$213.34754717");
  assert.equal(price("200.00000000"), "$200.00");
  assert.equal(price("10.12340000"), "$10.12");
  assert.equal(price("1234567.5"), "$1,234,567.50");
  assert.equal(price("0.12345678"), "$0.1235");
  assert.equal(price("0.00010000"), "$0.0001");
  assert.equal(price("0.99999"), "$1.0000"); // below $1 before rounding: 4 places
  assert.equal(price("1.00000000"), "$1.00");
  // Half up, like the template's floatformat (templates/portfolio/_price.html).
  assert.equal(price("2.665"), "$2.67");
  assert.equal(price("2.675"), "$2.68");
  assert.equal(price("2.66499999"), "$2.66");
  assert.equal(price("9999999.99999999"), "$10,000,000.00");
  assert.equal(price(null), "\u2014");
  // Quantities as the broker reports them, without padding.
  assert.equal(qty("53.000000"), "53");
  assert.equal(qty("0.123456"), "0.123456");
});

test("decimal helpers are exact", () => {
  assert.equal(compareDecimal("10.10", "10.1"), 0);
  assert.equal(compareDecimal("-1", "0.000001"), -1);
  assert.equal(compareDecimal("228.45000000", "228.44"), 1);
  assert.equal(decimalToString(multiplyDecimal("3.000000", "228.45")), "685.35000000");
  assert.equal(decimalToString(roundHalfEven(parseDecimal("2.675"), 2)), "2.68");
  assert.equal(decimalToString(roundHalfEven(parseDecimal("0.1") , 3)), "0.100");
  assert.equal(decimalToString(roundHalfUp(parseDecimal("2.665"), 2)), "2.67");
  assert.equal(decimalToString(roundHalfUp(parseDecimal("-2.665"), 2)), "-2.67");
  assert.equal(decimalToString(roundHalfUp(parseDecimal("-0.001"), 2)), "0.00");
  assert.equal(decimalToString(subtractDecimal("100.10", "100.2")), "-0.10");
  assert.equal(decimalToString(subtractDecimal("0.3", "0.1")), "0.2"); // 0.30000000000000004 in floats
  // Floats would get this wrong: 0.1 + 0.2 style errors never reach the page.
  assert.equal(usd("9007199254740993.01"), "$9,007,199,254,740,993.01");
});

test("timestamps read like Django's date:'M j, H:i:s' in UTC", () => {
  assert.equal(timestamp("2026-11-25T22:27:34.857023Z"), "Nov 25, 22:27:34");
  assert.equal(timestamp("2026-01-05T03:04:05Z"), "Jan 5, 03:04:05");
  assert.equal(timestamp("2026-01-05T03:04:05+01:00"), "Jan 5, 02:04:05");
  assert.equal(isoForAttribute("2026-01-05T03:04:05.123456Z"), "2026-01-05T03:04:05.123456+00:00");
  assert.equal(timestamp("nope"), "\u2014");
});

test("status labels and ages", () => {
  assert.equal(statusLabel("pending_new"), "Pending new");
  assert.equal(statusLabel("partially_filled"), "Partially filled");
  assert.equal(ago(0), "just now");
  assert.equal(ago(12_400), "12s ago");
  assert.equal(ago(125_000), "2 min ago");
  assert.equal(ago(2 * 3600_000), "2 h ago");
  assert.equal(ago(Infinity), "never");
});
