"""The Prometheus endpoint: this process's counters plus the database-backed gauges."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    disable_created_metrics,
    generate_latest,
)

from operations.metrics import SCRAPE_REGISTRY

# `_created` series double the output and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


def _allowed(request: HttpRequest) -> bool:
    """Scrapers on the allowed networks, or a signed-in staff member."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


def metrics(request: HttpRequest) -> HttpResponse:
    """Scrape every daphne process: socket counters are per process, queue gauges global."""
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body = generate_latest(REGISTRY) + generate_latest(SCRAPE_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
