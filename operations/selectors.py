"""Read side of the operator tools: the stats endpoint's document and the rollout's live numbers."""

from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from operations.aggregate import process_rows, stream_stats
from operations.reporter import stats_store
from rollout.flags import REALTIME_PORTFOLIO
from rollout.gate import cohort_count
from rollout.services import flag_state_get
from trading.selectors import order_queue_stats


def rollout_stats(name: str = REALTIME_PORTFOLIO) -> dict[str, Any]:
    state = flag_state_get(name)
    inside, total = cohort_count(name)
    return {
        "flag": state.name,
        "mode": state.mode,
        "everyone": state.everyone,
        "percent": None if state.percent is None else str(state.percent),
        "users": list(state.users),
        "groups": list(state.groups),
        "cohortSize": inside,
        "totalUsers": total,
    }


def order_queue() -> dict[str, Any]:
    stats = order_queue_stats()
    age = stats.oldest_queued_age_seconds
    return {
        "queued": stats.queued,
        "running": stats.running,
        "failed": stats.failed,
        "oldestQueuedAgeSeconds": None if age is None else round(age, 1),
    }


def websocket_stats_get() -> dict[str, Any]:
    """Everything the stats endpoint and the admin panel show, summed over live processes."""
    store = stats_store()
    reports = store.reports()
    return {
        **stream_stats(reports),
        "windowSeconds": 300,
        "mode": "distributed" if settings.REDIS_URL else "embedded",
        "generatedAt": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
        "rollout": rollout_stats(),
        "orderQueue": order_queue(),
        "processes": process_rows(reports),
        "history": store.history(),
    }


def live_numbers() -> dict[str, Any]:
    """The few numbers `manage.py rollout --status` prints beside the flag.

    Only a shared store has them: in embedded mode they live inside the server process.
    """
    if not settings.REDIS_URL:
        return {"sockets": "embedded mode: see /admin/websocket-stats/ on the server"}
    stats = stream_stats(stats_store().reports())
    return {
        "sockets": stats["activeConnections"],
        "latency": f"avg {stats['avgLatency']} ms, p95 {stats['latency']['p95']} ms (5 min)",
        "closes": f"{stats['disconnectRate']} abnormal/min (5 min)",
        "errors": f"{stats['errorRate']:.2%} of frames (5 min)",
    }
