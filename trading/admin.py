"""Django admin for the trading domain: everything visible and searchable, secrets never shown."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from trading.models import BrokerAccount, Fill, Instrument, Order, OrderJob, Position
from trading.work_queue import jobs_requeue


@admin.register(BrokerAccount)
class BrokerAccountAdmin(admin.ModelAdmin[BrokerAccount]):
    list_display = (
        "user",
        "provider",
        "is_live",
        "equity",
        "cash",
        "buying_power",
        "broker_status",
        "broker_problem",
    )
    list_filter = ("provider", "is_live", "broker_status")
    search_fields = ("user__username", "user__email", "credentials_hint")
    exclude = ("credentials_encrypted",)
    readonly_fields = (
        "credentials_hint",
        "cash",
        "equity",
        "last_equity",
        "buying_power",
        "long_market_value",
        "short_market_value",
        "positions_seq",
        "orders_seq",
        "account_seq",
        "broker_status",
        "broker_error",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Broker error")
    def broker_problem(self, account: BrokerAccount) -> str:
        """The connection's last error, short enough for the list (the form has it whole)."""
        error = account.broker_error
        return error if len(error) <= 80 else f"{error[:77]}..."


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin[Instrument]):
    list_display = (
        "symbol",
        "name",
        "exchange",
        "price",
        "prev_close",
        "price_updated_at",
        "tradable",
    )
    list_filter = ("exchange", "tradable")
    search_fields = ("symbol", "name")


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin[Position]):
    list_display = ("account", "symbol", "qty", "avg_entry_price", "current_price", "unrealized_pl")
    search_fields = ("symbol", "account__user__username")
    list_select_related = ("account__user",)


class FillInline(admin.TabularInline[Fill, Order]):
    model = Fill
    extra = 0
    can_delete = False
    readonly_fields = ("execution_id", "qty", "price", "executed_at")
    fields = readonly_fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = (
        "submitted_at",
        "account",
        "symbol",
        "side",
        "type",
        "qty",
        "filled_qty",
        "status",
    )
    list_filter = ("status", "side", "type")
    search_fields = ("symbol", "client_order_id", "broker_order_id", "account__user__username")
    list_select_related = ("account__user",)
    inlines = [FillInline]
    date_hierarchy = "submitted_at"


@admin.register(Fill)
class FillAdmin(admin.ModelAdmin[Fill]):
    list_display = ("executed_at", "account", "symbol", "side", "qty", "price", "execution_id")
    search_fields = ("symbol", "execution_id", "order__client_order_id", "account__user__username")
    list_select_related = ("account__user",)


@admin.register(OrderJob)
class OrderJobAdmin(admin.ModelAdmin[OrderJob]):
    list_display = (
        "pk",
        "kind",
        "order",
        "status",
        "attempts",
        "run_after",
        "locked_by",
        "last_error",
    )
    list_filter = ("status", "kind")
    search_fields = ("order__client_order_id", "locked_by", "last_error")
    actions = ["requeue"]

    @admin.action(description="Queue the selected failed jobs again")
    def requeue(self, request: HttpRequest, queryset: QuerySet[OrderJob]) -> None:
        count = jobs_requeue(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed job(s) queued again.", messages.SUCCESS)
