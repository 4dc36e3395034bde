"""Trailing windows over Prometheus counters."""

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from operations.sampling import WindowTracker, registry_samples


def test_registry_samples_flatten_labels_and_skip_created() -> None:
    registry = CollectorRegistry()
    counter = Counter("portfolio_x", "x", ["code"], registry=registry)
    Gauge("other_metric", "not ours", registry=registry).set(1)
    counter.labels(code="4008").inc(2)
    samples = registry_samples(registry)
    assert samples == {'portfolio_x_total{code="4008"}': 2.0}


def test_windows_are_the_change_since_that_long_ago() -> None:
    tracker = WindowTracker([60.0, 300.0])
    key = 'portfolio_sent_total{type="ping"}'
    gauge = "portfolio_active"
    tracker.observe(0.0, {key: 10.0, gauge: 3.0})
    for t in range(5, 400, 5):
        windows = tracker.observe(float(t), {key: 10.0 + t, gauge: 3.0})
    # At t=395: the last minute added 60, the last five minutes 300; gauges have no window.
    assert windows["60"]["deltas"] == {key: pytest.approx(60.0)}
    assert windows["60"]["seconds"] == pytest.approx(60.0)
    assert windows["300"]["deltas"] == {key: pytest.approx(300.0)}


def test_a_young_process_reports_its_whole_life() -> None:
    tracker = WindowTracker([300.0])
    tracker.observe(0.0, {"portfolio_sent_total": 0.0})
    windows = tracker.observe(20.0, {"portfolio_sent_total": 7.0})
    assert windows["300"] == {"seconds": 20.0, "deltas": {"portfolio_sent_total": 7.0}}
