"""Thin REST views: validate the input, call a selector or service, serialize the output."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from rollout.gate import realtime_enabled_for
from trading.api.base import ApiView
from trading.api.errors import NoBrokerAccount, OrderNotFound, domain_error_to_api
from trading.api.schema import extend_schema
from trading.api.serializers import (
    AccountHistoryErrorSerializer,
    AccountHistoryFilterSerializer,
    AccountHistorySerializer,
    AccountSerializer,
    ErrorSerializer,
    OrderCreateErrorSerializer,
    OrderCreateSerializer,
    OrderListErrorSerializer,
    OrderListFilterSerializer,
    OrderSerializer,
    PortfolioSnapshotSerializer,
    PositionSerializer,
    order_create_validated,
    order_representation,
)
from trading.models import BrokerAccount, Order
from trading.selectors import (
    account_get_for_user,
    account_history_get,
    order_get,
    order_list,
    portfolio_snapshot_get,
    position_list,
)
from trading.services.common import DomainError
from trading.services.orders import order_cancel_request, order_submit

FORBIDDEN = OpenApiResponse(
    ErrorSerializer, description="Not signed in, or (unsafe methods) the CSRF check failed."
)
NO_ACCOUNT = OpenApiResponse(ErrorSerializer, description="The user has no broker account.")
ORDER_NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    description="No such order for this account (another user's order looks the same), "
    "or the user has no broker account.",
)


class OrderPagination(PageNumberPagination):
    page_size = 50


def request_user(request: Request) -> AbstractBaseUser:
    """The signed-in user (the views' permission already refused anyone else)."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        raise NotAuthenticated()
    return user


def request_account(request: Request) -> BrokerAccount:
    """The signed-in user's broker account, or a 404 that says how to get one."""
    account = account_get_for_user(user=request_user(request))
    if account is None:
        raise NoBrokerAccount()
    return account


class AccountApi(ApiView):
    @extend_schema(responses={200: AccountSerializer, 403: FORBIDDEN, 404: NO_ACCOUNT})
    def get(self, request: Request) -> Response:
        """The account's balances and today's P&L."""
        account = request_account(request)
        return Response(AccountSerializer(account).data)


class PositionListApi(ApiView):
    @extend_schema(responses={200: PositionSerializer(many=True), 403: FORBIDDEN, 404: NO_ACCOUNT})
    def get(self, request: Request) -> Response:
        """Open positions, by symbol."""
        positions = position_list(account=request_account(request))
        return Response(PositionSerializer(positions, many=True).data)


class OrderListApi(ApiView):
    pagination_class = OrderPagination

    @extend_schema(
        parameters=[OrderListFilterSerializer],
        responses={
            200: OrderSerializer(many=True),
            400: OpenApiResponse(OrderListErrorSerializer, description="Invalid filter."),
            403: FORBIDDEN,
            404: OpenApiResponse(
                ErrorSerializer, description="No broker account, or no such page."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        """Orders, newest first, 50 a page."""
        account = request_account(request)
        filters = OrderListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = order_list(account=account, status=filters.validated_data["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        request=OrderCreateSerializer,
        responses={
            201: OrderSerializer,
            400: OpenApiResponse(
                OrderCreateErrorSerializer,
                description="Invalid input (a JSON number for `qty` or `limit_price` too: "
                "send decimal strings), unknown symbol, insufficient buying power (on `qty`), "
                "or malformed or too deeply nested JSON (`detail`).",
            ),
            403: FORBIDDEN,
            404: NO_ACCOUNT,
            413: OpenApiResponse(ErrorSerializer, description="The body is too large."),
            422: OpenApiResponse(
                OrderCreateErrorSerializer,
                description="`client_order_id` was already used for an order with other "
                "fields (an idempotency key reused; sent again unchanged, it returns 201 "
                "with the first order).",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Submit an order; it starts `pending_new` and the order worker sends it on."""
        user = request_user(request)
        try:
            fields = order_create_validated(request.data)
        except Exception:
            # Without an account the answer is the 404, whatever the input.
            request_account(request)
            raise
        try:
            # The service finds the account by its user as it locks it: one read.
            order = order_submit(user_id=user.pk, **fields)
        except BrokerAccount.DoesNotExist as error:
            raise NoBrokerAccount() from error
        except DomainError as error:
            raise domain_error_to_api(error) from error
        return Response(order_representation(order), status=status.HTTP_201_CREATED)


class OrderDetailApi(ApiView):
    @extend_schema(responses={200: OrderSerializer, 403: FORBIDDEN, 404: ORDER_NOT_FOUND})
    def get(self, request: Request, id: uuid.UUID) -> Response:
        """One order of the account."""
        order = order_get(account=request_account(request), order_id=id)
        if order is None:
            raise OrderNotFound()
        return Response(order_representation(order))

    @extend_schema(
        responses={
            202: OrderSerializer,
            403: FORBIDDEN,
            404: ORDER_NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, description="The order is already finished."),
        }
    )
    def delete(self, request: Request, id: uuid.UUID) -> Response:
        """Request a cancel: `canceled` at once if never sent, else `pending_cancel`."""
        account = request_account(request)
        if order_get(account=account, order_id=id) is None:
            raise OrderNotFound()
        try:
            order = order_cancel_request(account=account, order_id=id)
        except Order.DoesNotExist as error:
            raise OrderNotFound() from error
        except DomainError as error:
            raise domain_error_to_api(error) from error
        return Response(order_representation(order), status=status.HTTP_202_ACCEPTED)


class AccountHistoryApi(ApiView):
    @extend_schema(
        parameters=[AccountHistoryFilterSerializer],
        responses={
            200: AccountHistorySerializer,
            400: OpenApiResponse(
                AccountHistoryErrorSerializer, description="Invalid period or timeframe."
            ),
            403: FORBIDDEN,
            404: NO_ACCOUNT,
        },
    )
    def get(self, request: Request) -> Response:
        """Equity through the day (one point a minute, recorded server-side) and now."""
        account = request_account(request)
        filters = AccountHistoryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        history = account_history_get(account=account, now=timezone.now(), **filters.validated_data)
        return Response(AccountHistorySerializer(history).data)


class PortfolioSnapshotApi(ApiView):
    @extend_schema(responses={200: PortfolioSnapshotSerializer, 403: FORBIDDEN, 404: NO_ACCOUNT})
    def get(self, request: Request) -> Response:
        """Account, positions, open orders, recent fills, seq per channel, `realtime_enabled`."""
        snapshot = portfolio_snapshot_get(account_id=request_account(request).pk)
        context = {"realtime_enabled": realtime_enabled_for(request.user)}
        return Response(PortfolioSnapshotSerializer(snapshot, context=context).data)
