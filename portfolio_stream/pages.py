"""The portfolio page: where the trading domain and the live stream meet, so it lives here."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# The page asks the rollout gate the socket asks, so a user outside the rollout polls at once
# instead of opening a socket that would close with 4403.
from rollout.gate import realtime_enabled_for
from trading.api.serializers import PortfolioSnapshotSerializer
from trading.selectors import account_get_for_user, instrument_list_tradable, portfolio_snapshot_get


@login_required
def portfolio_page(request: HttpRequest) -> HttpResponse:
    """The portfolio from the same snapshot the API serves; an empty state without an account.

    The snapshot is rendered as HTML (useful without JavaScript) and embedded as the API's JSON,
    from which the live client starts; `seq` tells it which stream events are already in.
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
    }
    return render(request, "portfolio/portfolio.html", context)
