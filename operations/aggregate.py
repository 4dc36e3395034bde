"""The operator's WebSocket statistics: every process's report summed into one picture."""

import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from operations.store import Report

# The five headline numbers are over this trailing window.
STATS_WINDOW = "300"
HISTORY_WINDOW = "60"
# Closes that are part of normal life, not a sign of trouble: a clean close, a page left,
# a logout and the rollout saying no.
EXPECTED_CLOSE_CODES = frozenset({"1000", "1001", "4401", "4403"})

ACTIVE = "portfolio_ws_connections_active"
SENT = "portfolio_ws_messages_sent_total"
LATENCY = "portfolio_ws_delivery_latency_seconds"
DISCONNECTS = "portfolio_ws_disconnects_total"
ERRORS = "portfolio_ws_errors_total"
PUBLISH_FAILURES = "portfolio_events_publish_failures_total"
SUBSCRIPTIONS = "portfolio_ws_subscriptions"
BROKER_CONNECTED = "portfolio_broker_stream_connected"
BROKER_RECONNECTS = "portfolio_broker_stream_reconnects_total"

_KEY = re.compile(r"^(?P<name>[^{]+)(?:\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_key(key: str) -> tuple[str, dict[str, str]]:
    """`name{a="1"}` -> ("name", {"a": "1"})."""
    match = _KEY.match(key)
    if match is None:
        return key, {}
    return match["name"], dict(_LABEL.findall(match["labels"] or ""))


class Series:
    """Samples summed over processes, looked up by metric name and one label."""

    def __init__(self, samples: Iterable[dict[str, float]]) -> None:
        self._values: dict[str, float] = defaultdict(float)
        for sample in samples:
            for key, value in sample.items():
                self._values[key] += value

    def total(self, name: str) -> float:
        return sum(v for k, v in self._values.items() if parse_key(k)[0] == name)

    def by_label(self, name: str, label: str) -> dict[str, float]:
        values: dict[str, float] = defaultdict(float)
        for key, value in self._values.items():
            metric, labels = parse_key(key)
            if metric == name and label in labels:
                values[labels[label]] += value
        return dict(values)


def _window(report: Report, window: str) -> dict[str, float]:
    deltas: dict[str, float] = report.get("windows", {}).get(window, {}).get("deltas", {})
    return deltas


def _window_minutes(report: Report, window: str) -> float:
    seconds = report.get("windows", {}).get(window, {}).get("seconds", 0.0)
    return max(float(seconds), 1.0) / 60.0


def quantile(buckets: dict[str, float], q: float) -> float | None:
    """Like PromQL's histogram_quantile over cumulative `le` buckets, in the buckets' unit."""
    bounds = sorted((math.inf if le == "+Inf" else float(le), n) for le, n in buckets.items())
    if not bounds or bounds[-1][1] <= 0:
        return None
    rank = q * bounds[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in bounds:
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound is all we know
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


def _ints(values: dict[str, float]) -> dict[str, int]:
    return {key: int(value) for key, value in sorted(values.items())}


def _abnormal_closes(closes: dict[str, float]) -> float:
    return sum(n for code, n in closes.items() if code not in EXPECTED_CLOSE_CODES)


def stream_stats(reports: list[Report]) -> dict[str, Any]:
    """The socket numbers of the stats endpoint; windows are the last five minutes."""
    totals = Series(r["totals"] for r in reports)
    window = Series(_window(r, STATS_WINDOW) for r in reports)
    sent = window.total(SENT)
    latency_count = window.total(f"{LATENCY}_count")
    latency_sum = window.total(f"{LATENCY}_sum")
    buckets = window.by_label(f"{LATENCY}_bucket", "le")
    closes = window.by_label(DISCONNECTS, "code")
    errors = window.by_label(ERRORS, "code")
    failures = window.total(PUBLISH_FAILURES)
    disconnect_rate = sum(
        _abnormal_closes(Series([_window(r, STATS_WINDOW)]).by_label(DISCONNECTS, "code"))
        / _window_minutes(r, STATS_WINDOW)
        for r in reports
    )
    return {
        "activeConnections": int(totals.total(ACTIVE)),
        "totalMessages": int(totals.total(SENT)),
        "avgLatency": round(latency_sum / latency_count * 1000.0, 2) if latency_count else 0.0,
        "disconnectRate": round(disconnect_rate, 3),
        "errorRate": round((sum(errors.values()) + failures) / sent, 4) if sent else 0.0,
        "latency": {
            "p50": _ms(quantile(buckets, 0.50)),
            "p95": _ms(quantile(buckets, 0.95)),
            "p99": _ms(quantile(buckets, 0.99)),
            "samples": int(latency_count),
        },
        "messagesInWindow": int(sent),
        "messagesByType": _ints(totals.by_label(SENT, "type")),
        "channels": _ints(totals.by_label(SUBSCRIPTIONS, "channel")),
        "closes": {"window": _ints(closes), "total": _ints(totals.by_label(DISCONNECTS, "code"))},
        "errorsByCode": _ints(errors),
        "publishFailures": int(failures),
        "brokerStreams": {
            "connected": _ints(totals.by_label(BROKER_CONNECTED, "stream")),
            "reconnects": _ints(window.by_label(BROKER_RECONNECTS, "stream")),
        },
    }


def process_rows(reports: list[Report], now: float | None = None) -> list[dict[str, Any]]:
    """One row per reporting process, oldest first."""
    now = time.time() if now is None else now
    rows = []
    for report in sorted(reports, key=lambda r: r["process"]["started_at"]):
        process = report["process"]
        series = Series([report["totals"]])
        rows.append(
            {
                "id": process["id"],
                "role": process["role"],
                "host": process["host"],
                "pid": process["pid"],
                "startedAt": _iso(process["started_at"]),
                "lastReport": _iso(process["reported_at"]),
                "lastReportAgeSeconds": round(max(now - process["reported_at"], 0.0), 1),
                "activeConnections": int(series.total(ACTIVE)),
                "totalMessages": int(series.total(SENT)),
            }
        )
    return rows


def history_sample(reports: list[Report], *, at: float) -> dict[str, Any]:
    """One point of the hour-long charts: the minute that just ended."""
    window = Series(_window(r, HISTORY_WINDOW) for r in reports)
    rate = sum(
        Series([_window(r, HISTORY_WINDOW)]).total(SENT) / (_window_minutes(r, HISTORY_WINDOW) * 60)
        for r in reports
    )
    return {
        "at": _iso(at),
        "connections": int(Series(r["totals"] for r in reports).total(ACTIVE)),
        "messagesPerSecond": round(rate, 2),
        "p95LatencyMs": _ms(quantile(window.by_label(f"{LATENCY}_bucket", "le"), 0.95)),
        "disconnects": int(_abnormal_closes(window.by_label(DISCONNECTS, "code"))),
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")
