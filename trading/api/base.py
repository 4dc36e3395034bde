"""The API's base view and its fallback route: every answer under /api/ is JSON."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework.views import APIView

from trading.api.errors import api_exception_handler
from trading.api.parsers import DepthLimitedJSONParser

FALLBACK_URL_NAME = "api-fallback"


class ApiView(APIView):
    """JSON in (depth-limited), JSON out for every error, 413, 500 and 503 included."""

    # Also for GET and DELETE: the CSRF check of an unsafe method parses the body.
    parser_classes = [DepthLimitedJSONParser]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        return api_exception_handler


@csrf_exempt  # the view it hands over to checks CSRF itself (DRF's SessionAuthentication)
def api_fallback(request: HttpRequest, rest: str) -> HttpResponse:
    """A path no API route matched: the slash-less form of a route is that route (so a
    POST to /api/orders is not redirected without its body); anything else a JSON 404."""
    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != FALLBACK_URL_NAME:
            response: HttpResponse = match.func(request, *match.args, **match.kwargs)
            return response
    return JsonResponse({"detail": "Not found."}, status=404)
