"""API errors and the mapping of domain errors onto HTTP responses."""

from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError

from trading.services.common import DomainError

# Domain error codes that mean "the request is fine, the resource's state refuses it".
CONFLICT_CODES = frozenset({"not_cancelable"})


class NoBrokerAccount(NotFound):
    default_detail = (
        "You have no broker account yet. Ask an administrator to open a simulated account "
        "or link your Alpaca account."
    )
    default_code = "no_account"


class OrderNotFound(NotFound):
    default_detail = "Order not found."
    default_code = "order_not_found"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource's current state does not allow this request."
    default_code = "conflict"


def domain_error_to_api(error: DomainError) -> APIException:
    """A field error becomes `{field: [message]}` (400); others `{"detail": message}`."""
    if error.code in CONFLICT_CODES:
        return Conflict(error.message, code=error.code)
    if error.field:
        return ValidationError({error.field: [error.message]}, code=error.code)
    return ValidationError({"detail": error.message}, code=error.code)
