"""Operator routes: the stats API, the admin pages (staff only) and /metrics."""

from django.contrib import admin
from django.urls import path

from operations import admin_views
from operations.api import WebsocketStatsApi
from operations.metrics_view import metrics

api_urlpatterns = [
    path(
        "admin/websocket-stats/",
        WebsocketStatsApi.as_view(),
        name="api-admin-websocket-stats",
    ),
]

admin_urlpatterns = [
    path(
        "websocket-stats/",
        admin.site.admin_view(admin_views.websocket_stats_page),
        name="admin-websocket-stats",
    ),
    path(
        "test-trade/",
        admin.site.admin_view(admin_views.test_trade_page),
        name="admin-test-trade",
    ),
    path(
        "runbooks/<slug:name>/",
        admin.site.admin_view(admin_views.runbook_page),
        name="admin-runbook",
    ),
]

metrics_urlpatterns = [path("metrics", metrics, name="metrics")]
