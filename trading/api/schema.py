"""OpenAPI annotations of the API views: recorded when a view is defined, applied on generation."""

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# (view method, the arguments of drf-spectacular's extend_schema), in definition order;
# trading.api.openapi hands them over (and empties the list) when a document is generated.
PENDING: list[tuple[Callable[..., Any], dict[str, Any]]] = []


def extend_schema(**kwargs: Any) -> Callable[[F], F]:
    """drf-spectacular's `extend_schema` for a view method, applied only when generating.

    Its own decorator builds a schema class on the spot, which imports drf-spectacular's
    AutoSchema and with it django.test, unittest and all its contrib extensions (2 MB in
    every server process, none of which ever generates the document).
    """

    def record(method: F) -> F:
        PENDING.append((method, kwargs))
        return method

    return record
