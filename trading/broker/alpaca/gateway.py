"""BrokerGateway for one Alpaca account, on alpaca-py's (blocking) `TradingClient`.

Every method blocks on HTTP: call it from a worker thread, never on an event loop.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from trading.broker.alpaca.credentials import AlpacaCredentials
from trading.broker.alpaca.errors import broker_error, error_status, is_duplicate_client_order_id
from trading.broker.alpaca.mapping import (
    AccountBalances,
    balances_from_raw,
    broker_order_from_raw,
    broker_position_from_raw,
)
from trading.broker.types import BrokerOrder, BrokerPosition, BrokerRejected, OrderRequest

logger = logging.getLogger(__name__)

# alpaca-py sends requests without a timeout; a hung connection would hold the order
# worker forever. Connect fast, and give Alpaca a generous time to answer.
REQUEST_TIMEOUT_SECONDS = (5.0, 15.0)
# Alpaca's maximum page size for GET /v2/orders.
MAX_ORDERS_PAGE = 500

T = TypeVar("T")


class _TimeoutAdapter(HTTPAdapter):
    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = REQUEST_TIMEOUT_SECONDS
        return super().send(request, **kwargs)


def trading_client(credentials: AlpacaCredentials, url_override: str | None) -> TradingClient:
    """A TradingClient returning raw dicts (exact decimal strings), with a timeout, no sleeps."""
    client = TradingClient(
        credentials.key_id,
        credentials.secret_key,
        paper=not credentials.live,
        raw_data=True,
        url_override=url_override or None,
    )
    # alpaca-py 0.44 sleeps 3 s three times in the calling thread on HTTP 429/504. The order
    # queue retries with its own backoff instead, without holding the worker (private
    # attributes of alpaca.common.rest.RESTClient; the version is pinned).
    client._retry = 0
    adapter = _TimeoutAdapter()
    client._session.mount("https://", adapter)
    client._session.mount("http://", adapter)
    return client


class AlpacaGateway:
    """Submit, cancel and look up orders, positions and balances of one Alpaca account."""

    def __init__(self, credentials: AlpacaCredentials, *, url_override: str | None = None) -> None:
        self.credentials = credentials
        self._client = trading_client(credentials, url_override)

    def _call(self, call: Callable[[], T], *, cancel: bool = False) -> T:
        try:
            return call()
        except Exception as error:
            raise broker_error(error, cancel=cancel) from error

    # --- BrokerGateway -------------------------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> BrokerOrder:
        common: dict[str, Any] = {
            "symbol": request.symbol,
            # alpaca-py's request models hold floats; a Decimal of at most 6 (qty) or 4
            # (price) places survives float's shortest repr, which is what goes on the wire.
            "qty": float(request.qty),
            "side": OrderSide(request.side),
            "time_in_force": TimeInForce(request.time_in_force),
            "client_order_id": request.client_order_id,
        }
        order: MarketOrderRequest | LimitOrderRequest
        if request.type == "limit":
            if request.limit_price is None:
                raise broker_error(ValueError("a limit order needs a limit price"))
            order = LimitOrderRequest(limit_price=float(request.limit_price), **common)
        else:
            order = MarketOrderRequest(**common)
        try:
            raw = self._call(lambda: self._client.submit_order(order))
        except BrokerRejected as error:
            if not is_duplicate_client_order_id(error):
                raise
            # Our earlier attempt reached Alpaca after all: that order is this order.
            known = self.get_order_by_client_id(request.client_order_id)
            if known is None:
                raise
            return known
        return broker_order_from_raw(cast(dict[str, Any], raw))

    def cancel_order(self, broker_order_id: str) -> None:
        self._call(lambda: self._client.cancel_order_by_id(broker_order_id), cancel=True)

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        try:
            raw = self._client.get_order_by_client_id(client_order_id)
        except APIError as error:
            if error_status(error) == 404:
                return None
            raise broker_error(error) from error
        except Exception as error:
            raise broker_error(error) from error
        return broker_order_from_raw(cast(dict[str, Any], raw))

    def list_positions(self) -> list[BrokerPosition]:
        raw = self._call(self._client.get_all_positions)
        return [broker_position_from_raw(p) for p in cast(list[dict[str, Any]], raw)]

    # --- Beyond the protocol: what a resync needs ----------------------------------------------

    def get_account(self) -> AccountBalances:
        raw = self._call(self._client.get_account)
        return balances_from_raw(cast(dict[str, Any], raw))

    def list_orders(
        self, *, status: str = "open", after: datetime | None = None
    ) -> list[BrokerOrder]:
        """Orders by status (open, closed, all), oldest first; `after` filters on submission."""
        query = GetOrdersRequest(
            status=QueryOrderStatus(status),
            after=after,
            direction="asc",
            limit=MAX_ORDERS_PAGE,
            nested=False,
        )
        raw = self._call(lambda: self._client.get_orders(query))
        orders = [broker_order_from_raw(o) for o in cast(list[dict[str, Any]], raw)]
        if len(orders) == MAX_ORDERS_PAGE:
            logger.warning("Alpaca returned a full page of %s orders; older ones skipped", status)
        return orders


_local = threading.local()


def alpaca_gateway(credentials: AlpacaCredentials, *, url_override: str | None) -> AlpacaGateway:
    """A gateway per thread and key: its HTTP session keeps connections to Alpaca warm."""
    cache: dict[tuple[AlpacaCredentials, str | None], AlpacaGateway]
    cache = _local.__dict__.setdefault("gateways", {})
    key = (credentials, url_override)
    gateway = cache.get(key)
    if gateway is None:
        if len(cache) >= 64:
            cache.clear()
        gateway = cache[key] = AlpacaGateway(credentials, url_override=url_override)
    return gateway
