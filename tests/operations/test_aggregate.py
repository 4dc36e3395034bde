"""Summing process reports: the five headline numbers, percentiles, rates and history points."""

import pytest

from operations.aggregate import history_sample, parse_key, process_rows, quantile, stream_stats
from tests.operations.reports import latency_buckets, report

SENT = "portfolio_ws_messages_sent_total"
ACTIVE = "portfolio_ws_connections_active"


def test_parse_key() -> None:
    assert parse_key('m_total{code="4008",x="a b"}') == ("m_total", {"code": "4008", "x": "a b"})
    assert parse_key("plain") == ("plain", {})


def test_quantile_interpolates_inside_the_bucket_like_promql() -> None:
    buckets = {"0.01": 50.0, "0.1": 100.0, "+Inf": 100.0}
    assert quantile(buckets, 0.5) == pytest.approx(0.01)
    assert quantile(buckets, 0.75) == pytest.approx(0.055)
    assert quantile({"+Inf": 0.0}, 0.5) is None
    # Everything beyond the last finite bound: the bound is the honest answer.
    assert quantile({"0.1": 0.0, "+Inf": 10.0}, 0.99) == pytest.approx(0.1)


def test_two_processes_sum_into_the_headline_numbers() -> None:
    a = report(
        "a",
        totals={ACTIVE: 3, f'{SENT}{{type="order_update"}}': 100},
        window_300={
            f'{SENT}{{type="order_update"}}': 40,
            "portfolio_ws_delivery_latency_seconds_sum": 0.8,  # 40 frames, 20 ms each
            **latency_buckets({"0.01": 0, "0.025": 40, "+Inf": 0}),
            'portfolio_ws_disconnects_total{code="1006"}': 5,
            'portfolio_ws_disconnects_total{code="1000"}': 7,  # normal: not a disconnect
            'portfolio_ws_errors_total{code="invalid_json"}': 1,
        },
    )
    b = report(
        "b",
        totals={ACTIVE: 2, f'{SENT}{{type="ping"}}': 10},
        window_300={
            f'{SENT}{{type="ping"}}': 60,
            "portfolio_ws_delivery_latency_seconds_sum": 6.0,  # 60 frames, 100 ms each
            **latency_buckets({"0.01": 0, "0.025": 0, "0.1": 60, "+Inf": 0}),
            'portfolio_ws_disconnects_total{code="4008"}': 10,
            "portfolio_events_publish_failures_total": 1,
        },
    )
    stats = stream_stats([a, b])
    assert stats["activeConnections"] == 5
    assert stats["totalMessages"] == 110
    assert stats["avgLatency"] == pytest.approx((0.8 + 6.0) / 100 * 1000)
    # 15 abnormal closes (1006, 4008) over five minutes.
    assert stats["disconnectRate"] == pytest.approx(3.0)
    # One error frame and one failed publish over 100 frames sent.
    assert stats["errorRate"] == pytest.approx(0.02)
    assert stats["latency"]["samples"] == 100
    assert 10 < stats["latency"]["p50"] < 100
    assert stats["latency"]["p99"] <= 100
    assert stats["closes"]["window"] == {"1000": 7, "1006": 5, "4008": 10}
    assert stats["errorsByCode"] == {"invalid_json": 1}


def test_a_young_process_rates_over_its_own_age() -> None:
    young = report(
        "young", seconds=60.0, window_300={'portfolio_ws_disconnects_total{code="1006"}': 6}
    )
    assert stream_stats([young])["disconnectRate"] == pytest.approx(6.0)


def test_no_traffic_is_zero_not_an_error() -> None:
    stats = stream_stats([])
    assert stats["activeConnections"] == 0
    assert stats["avgLatency"] == 0.0
    assert stats["errorRate"] == 0.0
    assert stats["latency"]["p95"] is None


def test_history_point_and_process_rows() -> None:
    a = report(
        "a",
        totals={ACTIVE: 4},
        window_60={f'{SENT}{{type="ping"}}': 120, 'portfolio_ws_disconnects_total{code="4000"}': 2},
        reported_at=1_000.0,
    )
    point = history_sample([a], at=960.0)
    assert point["connections"] == 4
    assert point["messagesPerSecond"] == pytest.approx(2.0)
    assert point["disconnects"] == 2
    assert point["at"] == "1970-01-01T00:16:00Z"
    [row] = process_rows([a], now=1_003.0)
    assert row["activeConnections"] == 4
    assert row["lastReportAgeSeconds"] == pytest.approx(3.0)
