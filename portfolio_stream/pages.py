"""The portfolio page: where the trading domain and the live stream meet, so it lives here."""

from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

# The page asks the rollout gate the socket asks, so a user outside the rollout polls at once
# instead of opening a socket that would close with 4403.
from rollout.gate import realtime_enabled_for
from trading.api.serializers import OrderSerializer, PortfolioSnapshotSerializer
from trading.api.views import OrderPagination
from trading.models import BrokerAccount
from trading.selectors import (
    PortfolioSnapshot,
    account_get_for_user,
    instrument_list_tradable,
    order_list,
    portfolio_snapshot_get,
)

CENTS = Decimal("0.01")


def exact_value(qty: Decimal | None, price: Decimal | None) -> Decimal | None:
    """qty x price exactly, trailing zeros dropped but two places kept (2146.031, 2100.00):
    the digits static/portfolio/js/totals.js valueOf() writes."""
    if qty is None or price is None or qty == 0:
        return None
    value = qty * price
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        return value.quantize(CENTS)
    return normalized


def total_unrealized_pl(snapshot: PortfolioSnapshot) -> Decimal:
    """The positions' unrealized P&L summed (Decimal, exact), as totals.js sums it."""
    return sum((position.unrealized_pl for position in snapshot.positions), Decimal("0.00"))


def order_history_first_page(account: BrokerAccount) -> dict[str, Any]:
    """The newest page of GET /api/orders/?status=closed, for the first paint and as its JSON.

    `next` is the API's own link to page 2 (relative: the page follows it on its own origin).
    """
    size = OrderPagination.page_size
    orders = order_list(account=account, status="closed")
    count = orders.count()
    page = list(orders[:size])
    next_link = f"{reverse('api-orders')}?page=2&status=closed" if count > size else None
    return {
        "rows": [(order, exact_value(order.filled_qty, order.filled_avg_price)) for order in page],
        "count": count,
        "next": next_link,
        "data": {
            "count": count,
            "next": next_link,
            "previous": None,
            "results": OrderSerializer(page, many=True).data,
        },
    }


@login_required
def portfolio_page(request: HttpRequest) -> HttpResponse:
    """The portfolio from the same snapshot the API serves; an empty state without an account.

    The snapshot is rendered as HTML (useful without JavaScript) and embedded as the API's JSON,
    from which the live client starts; `seq` tells it which stream events are already in. The
    order history's first page comes the same way (as GET /api/orders/?status=closed answers).
    """
    user = request.user
    account = account_get_for_user(user=user) if isinstance(user, AbstractBaseUser) else None
    snapshot = portfolio_snapshot_get(account_id=account.pk) if account is not None else None
    realtime_enabled = realtime_enabled_for(user)
    serializer_context = {"realtime_enabled": realtime_enabled}
    context = {
        "snapshot": snapshot,
        "snapshot_data": (
            PortfolioSnapshotSerializer(snapshot, context=serializer_context).data
            if snapshot
            else None
        ),
        "realtime_enabled": realtime_enabled,
        "instruments": instrument_list_tradable(),
        "total_unrealized_pl": total_unrealized_pl(snapshot) if snapshot else None,
        # Each fill with its value, for the Value column.
        "recent_fills": (
            [(fill, exact_value(fill.qty, fill.price)) for fill in snapshot.recent_fills]
            if snapshot
            else []
        ),
        "order_history": order_history_first_page(account) if account is not None else None,
    }
    return render(request, "portfolio/portfolio.html", context)
