"""The shape of /api/admin/websocket-stats/ with the meaning of each number (for OpenAPI)."""

from typing import Any

from rest_framework import serializers


def _counts(help_text: str) -> serializers.DictField:
    return serializers.DictField(child=serializers.IntegerField(), help_text=help_text)


class LatencySerializer(serializers.Serializer[Any]):
    p50 = serializers.FloatField(allow_null=True, help_text="Median ms, last 5 minutes.")
    p95 = serializers.FloatField(allow_null=True, help_text="95th percentile ms, last 5 minutes.")
    p99 = serializers.FloatField(allow_null=True, help_text="99th percentile ms, last 5 minutes.")
    samples = serializers.IntegerField(help_text="Timed frames behind the percentiles.")


class ClosesSerializer(serializers.Serializer[Any]):
    window = _counts("Closes by WebSocket close code, last 5 minutes.")
    total = _counts("Closes by close code since each process started.")


class BrokerStreamsSerializer(serializers.Serializer[Any]):
    connected = _counts("Connected broker streams by kind (trade_updates, market_data).")
    reconnects = _counts("Broker stream reconnects by kind, last 5 minutes.")


class RolloutSerializer(serializers.Serializer[Any]):
    flag = serializers.CharField()
    mode = serializers.ChoiceField(
        choices=["on", "off", "rollout"],
        help_text="on: everyone; off: the kill switch; rollout: whitelist and percent.",
    )
    everyone = serializers.BooleanField(allow_null=True)
    percent = serializers.CharField(allow_null=True, help_text="Decimal string, 0 to 100.")
    users = serializers.ListField(child=serializers.CharField())
    groups = serializers.ListField(child=serializers.CharField())
    cohortSize = serializers.IntegerField(help_text="Users for whom the stream is on.")
    totalUsers = serializers.IntegerField()


class OrderQueueSerializer(serializers.Serializer[Any]):
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Jobs that gave up; see the order runbook.")
    oldestQueuedAgeSeconds = serializers.FloatField(allow_null=True)


class ProcessSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    role = serializers.CharField(help_text="web, embedded, worker, market or broker_stream.")
    host = serializers.CharField()
    pid = serializers.IntegerField()
    startedAt = serializers.DateTimeField()
    lastReport = serializers.DateTimeField()
    lastReportAgeSeconds = serializers.FloatField()
    activeConnections = serializers.IntegerField()
    totalMessages = serializers.IntegerField()


class HistorySampleSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField(help_text="The minute the sample was taken.")
    connections = serializers.IntegerField()
    messagesPerSecond = serializers.FloatField()
    p95LatencyMs = serializers.FloatField(allow_null=True)
    disconnects = serializers.IntegerField(help_text="Abnormal closes in that minute.")


class WebsocketStatsSerializer(serializers.Serializer[Any]):
    """Summed over every server process that reported in the last 30 seconds."""

    activeConnections = serializers.IntegerField(help_text="Open /ws/portfolio sockets now.")
    totalMessages = serializers.IntegerField(help_text="Frames sent since each process started.")
    avgLatency = serializers.FloatField(
        help_text="Mean ms from the domain change (event ts) to the frame sent, last 5 minutes "
        "(0 when no timed frame was sent)."
    )
    disconnectRate = serializers.FloatField(
        help_text="Abnormal closes per minute, last 5 minutes: every close but 1000, 1001, "
        "4401 and 4403."
    )
    errorRate = serializers.FloatField(
        help_text="(Error frames + failed publishes) / frames sent, last 5 minutes (0 to 1)."
    )
    latency = LatencySerializer()
    messagesInWindow = serializers.IntegerField(help_text="Frames sent, last 5 minutes.")
    messagesByType = _counts("Frames sent by type since each process started.")
    channels = _counts("Open sockets subscribed to each channel.")
    closes = ClosesSerializer()
    errorsByCode = _counts("Error frames by error code, last 5 minutes.")
    publishFailures = serializers.IntegerField(help_text="Failed group sends, last 5 minutes.")
    brokerStreams = BrokerStreamsSerializer()
    windowSeconds = serializers.IntegerField(help_text="The trailing window: 300.")
    mode = serializers.ChoiceField(choices=["embedded", "distributed"])
    generatedAt = serializers.DateTimeField()
    rollout = RolloutSerializer()
    orderQueue = OrderQueueSerializer()
    processes = ProcessSerializer(many=True)
    history = HistorySampleSerializer(
        many=True, help_text="One sample a minute for the last hour, oldest first."
    )
