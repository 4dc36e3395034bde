"""Alpaca's errors (HTTP statuses with `{"code", "message"}` bodies) as our broker errors.

The text of each error is what a trader reads as the reason an order was rejected, so it
says what happened in plain words and keeps Alpaca's own message.
"""

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from alpaca.common.exceptions import APIError

from trading.broker.types import (
    BrokerAuthError,
    BrokerError,
    BrokerNotCancelable,
    BrokerRejected,
    BrokerUnavailable,
)

# Alpaca's 8-digit error codes we tell apart (the first three digits are the HTTP status).
CODE_INSUFFICIENT_BUYING_POWER = 40310000
CODE_NOT_AUTHORIZED = 40110000
CODE_DUPLICATE_CLIENT_ORDER_ID = 40010001


def error_body(error: APIError) -> dict[str, Any]:
    """The JSON body of an API error; {} when it is not JSON (a proxy's HTML page, say)."""
    try:
        body = json.loads(str(error))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_status(error: APIError) -> int | None:
    status = error.status_code
    return int(status) if status is not None else None


def _money(value: Any) -> str | None:
    try:
        return f"${Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return None


def _buying_power_reason(body: dict[str, Any]) -> str:
    needed, available = _money(body.get("cost_basis")), _money(body.get("buying_power"))
    if needed and available:
        return (
            f"Insufficient buying power at Alpaca: this order needs {needed} "
            f"and {available} is available."
        )
    return "Insufficient buying power at Alpaca."


def is_duplicate_client_order_id(error: BrokerError) -> bool:
    return "client_order_id must be unique" in str(error)


def from_api_error(error: APIError, *, cancel: bool = False) -> BrokerError:
    """Map one HTTP error; `cancel` marks a DELETE of an order (422 means "already done")."""
    status = error_status(error)
    body = error_body(error)
    code = body.get("code")
    message = str(body.get("message") or str(error)[:200] or "no message").strip()
    if status == 401:
        return BrokerAuthError(f"Alpaca refused the API keys ({message}).")
    if status == 403:
        if code == CODE_INSUFFICIENT_BUYING_POWER and "buying power" in message.lower():
            return BrokerRejected(_buying_power_reason(body))
        if code is None:
            # A bare {"message": "forbidden."}: the keys (or their permissions) are wrong.
            return BrokerAuthError(f"Alpaca refused the request ({message}).")
        return BrokerRejected(f"Alpaca rejected the order: {message}.")
    if status == 404:
        return BrokerRejected(f"Alpaca does not know this order ({message}).")
    if status == 422 and cancel:
        return BrokerNotCancelable(f"Alpaca cannot cancel the order: {message}.")
    if status == 429:
        return BrokerUnavailable("Alpaca's rate limit was reached (HTTP 429); retrying later.")
    if status is None or status >= 500:
        return BrokerUnavailable(f"Alpaca is unavailable (HTTP {status}): {message}")
    return BrokerRejected(f"Alpaca rejected the order: {message}.")


def broker_error(error: Exception, *, cancel: bool = False) -> BrokerError:
    """Any failure of a call to Alpaca as a BrokerError the order queue knows how to handle."""
    if isinstance(error, BrokerError):
        return error
    if isinstance(error, APIError):
        return from_api_error(error, cancel=cancel)
    if isinstance(error, requests.Timeout):
        return BrokerUnavailable("Alpaca did not answer in time.")
    if isinstance(error, requests.RequestException):
        return BrokerUnavailable(f"Alpaca is unreachable ({type(error).__name__}).")
    if isinstance(error, ValueError):
        # alpaca-py validates requests before sending them (a market order with a limit...).
        return BrokerRejected(f"The order is not valid for Alpaca: {error}")
    return BrokerUnavailable(f"Unexpected error talking to Alpaca: {type(error).__name__}")
