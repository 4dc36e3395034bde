"""Staff pages inside the Django admin: WebSocket stats, a test trade, the runbooks."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from operations.forms import PriceNudgeForm, TestTradeForm
from trading.services.common import DomainError
from trading.services.orders import order_submit
from trading.services.price_nudge import price_nudge

RUNBOOKS_DIR = Path(settings.BASE_DIR) / "docs" / "runbooks"
RUNBOOKS = ("websocket-operations", "alpaca")


def _context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "title": title, **extra}


def websocket_stats_page(request: HttpRequest) -> HttpResponse:
    """The numbers of /api/admin/websocket-stats/, refreshed every 5 s, with hour-long charts."""
    context = _context(
        request,
        "WebSocket stats",
        stats_url=reverse("api-admin-websocket-stats"),
        runbooks=[(name, reverse("admin-runbook", args=[name])) for name in RUNBOOKS],
    )
    return render(request, "admin/operations/websocket_stats.html", context)


def test_trade_page(request: HttpRequest) -> HttpResponse:
    """Place an order for any user, or nudge a simulated price, and watch their page react."""
    trade_form = TestTradeForm(prefix="trade")
    nudge_form = PriceNudgeForm(prefix="nudge")
    if request.method == "POST" and "trade-user" in request.POST:
        trade_form = TestTradeForm(request.POST, prefix="trade")
        if trade_form.is_valid() and _place(request, trade_form):
            return redirect("admin-test-trade")
    elif request.method == "POST":
        nudge_form = PriceNudgeForm(request.POST, prefix="nudge")
        if nudge_form.is_valid() and _nudge(request, nudge_form):
            return redirect("admin-test-trade")
    context = _context(request, "Test trade", trade_form=trade_form, nudge_form=nudge_form)
    return render(request, "admin/operations/test_trade.html", context)


def _place(request: HttpRequest, form: TestTradeForm) -> bool:
    data = form.cleaned_data
    user = data.pop("user")
    try:
        order = order_submit(account=user.broker_account, **data)
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return False
    messages.success(
        request,
        f"Order {order.pk} for {user.get_username()}: {order.side} {order.qty} {order.symbol} "
        f"({order.type}), {order.status}.",
    )
    return True


def _nudge(request: HttpRequest, form: PriceNudgeForm) -> bool:
    symbol, percent = form.cleaned_data["symbol"], form.cleaned_data["percent"]
    try:
        price = price_nudge(symbol=symbol, percent=percent)
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return False
    messages.success(request, f"{symbol} moved {percent:+}% to {price}.")
    return True


def runbook_page(request: HttpRequest, name: str) -> HttpResponse:
    """A runbook from docs/runbooks, as the operator would read it in the repository."""
    if name not in RUNBOOKS:
        raise Http404("No such runbook.")
    text = (RUNBOOKS_DIR / f"{name}.md").read_text(encoding="utf-8")
    return render(request, "admin/operations/runbook.html", _context(request, name, text=text))
