"""Report dicts shaped like operations.reporter's, for aggregation tests."""

from typing import Any


def report(
    process_id: str,
    *,
    totals: dict[str, float] | None = None,
    window_300: dict[str, float] | None = None,
    window_60: dict[str, float] | None = None,
    seconds: float = 300.0,
    reported_at: float = 1_000.0,
    role: str = "web",
) -> dict[str, Any]:
    return {
        "process": {
            "id": process_id,
            "role": role,
            "host": "h",
            "pid": 1,
            "started_at": 0.0,
            "reported_at": reported_at,
        },
        "totals": totals or {},
        "windows": {
            "60": {"seconds": min(seconds, 60.0), "deltas": window_60 or {}},
            "300": {"seconds": seconds, "deltas": window_300 or {}},
        },
    }


def latency_buckets(counts: dict[str, int]) -> dict[str, float]:
    """Cumulative `le` buckets from per-bucket counts in seconds (the last one is +Inf)."""
    samples: dict[str, float] = {}
    running = 0
    for le, n in counts.items():
        running += n
        samples[f'portfolio_ws_delivery_latency_seconds_bucket{{le="{le}"}}'] = running
    samples["portfolio_ws_delivery_latency_seconds_count"] = running
    return samples
