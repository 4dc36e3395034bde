"""The browser's formats (static/portfolio/js/format.js) equal the server's first paint.

The first paint comes from trading/templatetags/trading_format.py (and, for prices, from
templates/portfolio/_price.html) and every later change from format.js, so a value must look
the same either way. Many generated values, both formatters.
"""

import json
import random
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.template.loader import render_to_string

from tests.requirements import require
from trading.templatetags import trading_format

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
FILTERS = {
    "usd": "usd",
    "signed_usd": "signedUsd",
    "signed_pct": "signedPct",
    "price": "exactPrice",  # the exact price, in the tooltips
    "qty": "qty",
    "trend": "trend",
}


@pytest.fixture(autouse=True)
def node_installed() -> None:
    require(NODE is not None, "node is not installed")


SCRIPT = """
import * as f from "./static/portfolio/js/format.js";
const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (c) => (text += c));
  process.stdin.on("end", () => resolve(text));
}));
console.log(JSON.stringify(input.map(([name, value]) => f[name](value))));
"""


def _values() -> list[str]:
    rng = random.Random(20261125)
    values = ["0", "-0", "0.00", "-0.000", "0.005", "-0.005", "0.015", "0.0050", "1e3", "", "abc"]
    for _ in range(400):
        scale = rng.choice([0, 1, 2, 4, 6, 8])
        digits = rng.randint(1, 12)
        magnitude = rng.randrange(10**digits)
        sign = rng.choice(["", "-"])
        text = str(magnitude).rjust(scale + 1, "0")
        values.append(f"{sign}{text[:-scale]}.{text[-scale:]}" if scale else f"{sign}{text}")
    return values


def _js(calls: list[list[str]]) -> list[str]:
    result = subprocess.run(
        [str(NODE), "--input-type=module", "-e", SCRIPT],
        cwd=REPO_ROOT,
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(result.stdout))


def test_js_formats_equal_the_template_filters() -> None:
    cases = [(name, value) for name in FILTERS for value in _values()]
    js = _js([[FILTERS[name], value] for name, value in cases])
    mismatches = []
    for (name, value), got in zip(cases, js, strict=True):
        try:
            decimal_value: object = Decimal(value) if value not in ("", "abc", "1e3") else value
        except ArithmeticError:
            decimal_value = value
        expected = getattr(trading_format, name)(decimal_value)
        if value == "1e3":
            continue  # Python reads exponents; the wire never carries them and JS rejects them
        if got != expected:
            mismatches.append(f"{name}({value!r}): python {expected!r}, js {got!r}")
    assert not mismatches, "\n".join(mismatches[:30])


def test_js_price_equals_the_price_template() -> None:
    # Prices are never negative; "$-1.0000" (the template) vs "-$1.0000" (JS) is not a case.
    values = [v for v in _values() if v not in ("", "abc", "1e3") and not v.startswith("-")]
    values += ["213.34754717", "0.99995", "1", "2.665", "0.12345", "9999999.99999999"]
    js = _js([["price", value] for value in values])
    mismatches = []
    for value, got in zip(values, js, strict=True):
        expected = render_to_string("portfolio/_price.html", {"value": Decimal(value)})
        if got != expected:
            mismatches.append(f"price({value!r}): template {expected!r}, js {got!r}")
    assert not mismatches, "\n".join(mismatches[:30])
    assert render_to_string("portfolio/_price.html", {"value": None}) == "\u2014"
