"""Server-rendered pages of the trading app."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trading.selectors import account_get_for_user, portfolio_snapshot_get


@login_required
def portfolio_page(request: HttpRequest) -> HttpResponse:
    """The portfolio from the same snapshot the API serves; an empty state without an account."""
    user = request.user
    account = account_get_for_user(user=user) if isinstance(user, AbstractBaseUser) else None
    snapshot = portfolio_snapshot_get(account_id=account.pk) if account is not None else None
    return render(request, "portfolio/portfolio.html", {"snapshot": snapshot})
