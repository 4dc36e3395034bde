"""API errors, the mapping of domain errors onto HTTP responses, and JSON for every failure."""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from trading.services.common import DomainError

logger = logging.getLogger(__name__)

# Domain error codes that mean "the request is fine, the resource's state refuses it".
CONFLICT_CODES = frozenset({"not_cancelable"})
# A client_order_id sent again with other fields: 422, as the IETF Idempotency-Key draft asks
# for a key reused with a different payload (Stripe's idempotency_error is the same idea).
IDEMPOTENCY_CODES = frozenset({"idempotency_key_reused"})
RETRY_AFTER_SECONDS = 5


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


class IdempotencyKeyReused(ValidationError):  # noqa: N818 - named like NotFound
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is briefly unavailable; try again in a few seconds."
    default_code = "unavailable"
    wait = RETRY_AFTER_SECONDS  # DRF's handler turns it into a Retry-After header


def domain_error_to_api(error: DomainError) -> APIException:
    """A field error becomes `{field: [message]}` (400); others `{"detail": message}`."""
    if error.code in CONFLICT_CODES:
        return Conflict(error.message, code=error.code)
    if error.code in IDEMPOTENCY_CODES:
        return IdempotencyKeyReused({error.field or "detail": [error.message]}, code=error.code)
    if error.field:
        return ValidationError({error.field: [error.message]}, code=error.code)
    return ValidationError({"detail": error.message}, code=error.code)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus JSON answers for what it leaves to Django's HTML pages.

    A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413; a lost database connection a 503 the
    client may retry; anything else a 500 without a traceback (the log has it).
    """
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable during %s: %s", _where(context), exc)
        exc = ServiceUnavailable()
    response = exception_handler(exc, context)
    if response is None:
        logger.error("internal error in %s", _where(context), exc_info=exc)
        set_rollback()
        response = Response(
            {"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    return response


def _where(context: dict[str, Any]) -> str:
    request = context.get("request")
    return f"{request.method} {request.path}" if request is not None else "an API view"
