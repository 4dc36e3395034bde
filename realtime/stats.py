"""Counters of the stream, exported to Prometheus and read by the admin stats panel."""

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from realtime.conf import CHANNELS
from realtime.tracking import ConnectionRegistry, registry

CONNECTIONS_ACTIVE = Gauge("portfolio_ws_connections_active", "Open /ws/portfolio sockets")
CONNECTIONS_TOTAL = Counter("portfolio_ws_connections", "Accepted /ws/portfolio sockets")
MESSAGES_SENT = Counter("portfolio_ws_messages_sent", "Frames sent to clients", ["type"])
DELIVERY_LATENCY = Histogram(
    "portfolio_ws_delivery_latency_seconds",
    "From the domain change (event ts) to the frame leaving the server",
    # Fine below 200 ms, where the stream lives, so p95/p99 are read to a few ms.
    buckets=(
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
        1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
    ),
)  # fmt: skip
DISCONNECTS = Counter("portfolio_ws_disconnects", "Closed sockets by close code", ["code"])
ERRORS = Counter("portfolio_ws_errors", "Error frames sent to clients", ["code"])
PUBLISHED = Counter("portfolio_events_published", "Messages handed to the channel layer")
PUBLISH_FAILURES = Counter(
    "portfolio_events_publish_failures", "Messages whose sending to the channel layer failed"
)
COALESCED = Counter("portfolio_events_coalesced", "Events superseded at the source")


class SubscriptionCollector(Collector):
    """Open sockets per subscribed channel and distinct users, read from the socket registry."""

    def __init__(self, connections: ConnectionRegistry) -> None:
        self.connections = connections

    def collect(self) -> Iterator[GaugeMetricFamily]:
        summary = self.connections.summary()
        subscribed = GaugeMetricFamily(
            "portfolio_ws_subscriptions", "Open sockets subscribed to a channel", labels=["channel"]
        )
        counts = summary["subscriptions"]
        for channel in CHANNELS:
            subscribed.add_metric([channel], counts.get(channel, 0))
        yield subscribed
        yield GaugeMetricFamily(
            "portfolio_ws_users_connected", "Users with an open socket", value=summary["users"]
        )


REGISTRY.register(SubscriptionCollector(registry))


def record_published(count: int = 1) -> None:
    PUBLISHED.inc(count)


def record_publish_failure(count: int = 1) -> None:
    PUBLISH_FAILURES.inc(count)


def record_coalesced(superseded: int) -> None:
    if superseded > 0:
        COALESCED.inc(superseded)


def record_connected() -> None:
    CONNECTIONS_TOTAL.inc()
    CONNECTIONS_ACTIVE.inc()


def record_disconnected(code: int | None) -> None:
    CONNECTIONS_ACTIVE.dec()
    DISCONNECTS.labels(code=str(code if code is not None else "none")).inc()


def record_sent(frame_type: str, latency_seconds: float | None) -> None:
    MESSAGES_SENT.labels(type=frame_type).inc()
    if latency_seconds is not None:
        DELIVERY_LATENCY.observe(max(latency_seconds, 0.0))


def record_error(code: str) -> None:
    ERRORS.labels(code=code).inc()


def _samples(metric: Counter | Gauge) -> dict[str, float]:
    values: dict[str, float] = {}
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items())) or "value"
            values[label] = sample.value
    return values


def stats_snapshot() -> dict[str, Any]:
    """This process's counters as plain numbers."""
    return {
        "connections_active": _samples(CONNECTIONS_ACTIVE).get("value", 0.0),
        "connections_total": _samples(CONNECTIONS_TOTAL).get("value", 0.0),
        "messages_sent": _samples(MESSAGES_SENT),
        "disconnects": _samples(DISCONNECTS),
        "errors": _samples(ERRORS),
        "published": _samples(PUBLISHED).get("value", 0.0),
        "publish_failures": _samples(PUBLISH_FAILURES).get("value", 0.0),
        "coalesced": _samples(COALESCED).get("value", 0.0),
    }
