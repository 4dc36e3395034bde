"""Metrics read from the database at scrape time: the order queue and the rollout.

They live in their own registry, exported by /metrics only: the stats reporter samples the
default registry every few seconds in every process and must not query the database.
"""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import trading.metrics  # noqa: F401  # its families are always exported, even before first use
from rollout.flags import REALTIME_PORTFOLIO
from rollout.gate import cohort_count
from rollout.services import flag_state_get
from trading.selectors import order_queue_stats


class OrderQueueCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = order_queue_stats()
        depth = GaugeMetricFamily(
            "portfolio_order_queue_jobs", "Order jobs not done, by status", labels=["status"]
        )
        depth.add_metric(["queued"], stats.queued)
        depth.add_metric(["running"], stats.running)
        depth.add_metric(["failed"], stats.failed)
        yield depth
        yield GaugeMetricFamily(
            "portfolio_order_queue_oldest_age_seconds",
            "Age of the oldest queued order job (0 when none)",
            value=stats.oldest_queued_age_seconds or 0.0,
        )


class RolloutCollector(Collector):
    def __init__(self, name: str = REALTIME_PORTFOLIO) -> None:
        self.name = name

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = flag_state_get(self.name)
        mode = GaugeMetricFamily(
            "portfolio_rollout_mode",
            "1 for the rollout flag's current mode: on (everyone), off (kill switch) or rollout",
            labels=["flag", "mode"],
        )
        for each in ("on", "off", "rollout"):
            mode.add_metric([self.name, each], 1.0 if state.mode == each else 0.0)
        yield mode
        percent = GaugeMetricFamily(
            "portfolio_rollout_percent",
            "The rollout flag's percentage (0 when unset)",
            labels=["flag"],
        )
        percent.add_metric([self.name], float(state.percent or 0))
        yield percent
        cohort = GaugeMetricFamily(
            "portfolio_rollout_cohort_users", "Users inside the rollout", labels=["flag"]
        )
        cohort.add_metric([self.name], cohort_count(self.name)[0])
        yield cohort


SCRAPE_REGISTRY = CollectorRegistry(auto_describe=False)
SCRAPE_REGISTRY.register(OrderQueueCollector())
SCRAPE_REGISTRY.register(RolloutCollector())
