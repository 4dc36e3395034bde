"""The numbers of the soak: samples of a server over time and how fast each one grows."""

import os
import statistics
from typing import Any

import redis

from tests.load import harness

# The readings that must stay flat under a steady load; growth over the window after the
# warm-up, in % of the fitted value at its start.
BOUNDED = ("rss_kib", "open_fds", "redis_used_memory")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def redis_memory(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        memory: dict[str, Any] = client.info("memory")  # type: ignore[assignment]
        clients: dict[str, Any] = client.info("clients")  # type: ignore[assignment]
    finally:
        client.close()
    return {
        "redis_used_memory": int(memory["used_memory"]),
        "redis_clients": int(clients["connected_clients"]),
    }


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (slope per second, intercept) of (t, value) points."""
    times = [t for t, _ in points]
    values = [v for _, v in points]
    if len(points) < 2 or len(set(times)) < 2:
        return 0.0, values[0] if values else 0.0
    slope, intercept = statistics.linear_regression(times, values)
    return slope, intercept


def growth(samples: list[dict[str, Any]], warmup_seconds: float) -> dict[str, Any]:
    """Per bounded reading: first/last/min/max, slope, and growth after the warm-up."""
    measured = [s for s in samples if s["t"] >= warmup_seconds]
    result: dict[str, Any] = {}
    if len(measured) < 2:
        return {"error": f"only {len(measured)} samples after the warm-up"}
    start, end = measured[0]["t"], measured[-1]["t"]
    for key in BOUNDED:
        values = [s[key] for s in measured]
        slope, intercept = fit([(s["t"], s[key]) for s in measured])
        at_start = intercept + slope * start
        result[key] = {
            "after_warmup_first": values[0],
            "last": values[-1],
            "min": min(values),
            "max": max(values),
            "slope_per_hour": round(slope * 3600, 1),
            # The fitted line's rise over the measured window, and per hour, in %.
            "growth_pct": round(100 * slope * (end - start) / at_start, 2) if at_start else None,
            "growth_pct_per_hour": round(100 * slope * 3600 / at_start, 2) if at_start else None,
        }
    result["window_s"] = round(end - start, 1)
    result["samples"] = len(measured)
    return result


def latency_window(clients: list[Any]) -> dict[str, Any]:
    """Client-side latency (newest event) of the frames since the last call; forgets them,
    so that an hour of frames is never held in memory."""
    latencies = []
    frames = 0
    for client in clients:
        frames += len(client.records)
        latencies += [record[3] for record in client.records]
        client.records.clear()
    return {"frames": frames, "latency_ms": harness.percentiles(latencies)}
