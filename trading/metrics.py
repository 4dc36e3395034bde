"""Prometheus metrics of the trading side: the order queue's outcomes and the broker streams."""

from prometheus_client import Counter, Gauge, Histogram

ORDER_JOBS = Counter(
    "portfolio_order_jobs", "Order jobs finished by the worker", ["kind", "outcome"]
)
SUBMIT_TO_FILL = Histogram(
    "portfolio_order_submit_to_fill_seconds",
    "From the order's creation (the POST) to each fill applied",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
BROKER_STREAM_CONNECTED = Gauge(
    "portfolio_broker_stream_connected",
    "Broker streams connected in this process (one trade stream per Alpaca account)",
    ["stream"],
)
BROKER_STREAM_RECONNECTS = Counter(
    "portfolio_broker_stream_reconnects", "Broker stream connections after the first", ["stream"]
)

TRADE_UPDATES = "trade_updates"
MARKET_DATA = "market_data"


class StreamConnectionState:
    """Keeps one stream's contribution to the connected gauge and counts its reconnects."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.connected = False
        self.ever_connected = False

    def mark_connecting(self) -> None:
        if self.connected:
            self.connected = False
            BROKER_STREAM_CONNECTED.labels(stream=self.stream).dec()

    def mark_connected(self) -> None:
        if self.connected:
            return
        if self.ever_connected:
            BROKER_STREAM_RECONNECTS.labels(stream=self.stream).inc()
        self.connected = self.ever_connected = True
        BROKER_STREAM_CONNECTED.labels(stream=self.stream).inc()
