"""The project's URLs plus one view that always fails, for the request-error logging test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from portfolio_stream.urls import urlpatterns as project_urlpatterns


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"deliberate failure {request.GET.get('marker', '')}")


urlpatterns = [path("test-failure/", fail), *project_urlpatterns]
