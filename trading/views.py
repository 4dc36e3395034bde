"""Server-rendered pages of the trading app."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def portfolio_page(request: HttpRequest) -> HttpResponse:
    return render(request, "portfolio/portfolio.html", {})
