"""The rollout flags in the admin, with waffle's own FlagAdmin (waffle registers only its model)."""

from django.contrib import admin
from waffle.admin import FlagAdmin

from rollout.models import Flag


@admin.register(Flag)
class RolloutFlagAdmin(FlagAdmin):
    """Everyone = No is the kill switch; open sockets follow a change within seconds."""

    list_display = (
        "name",
        "everyone",
        "percent",
        "superusers",
        "staff",
        "authenticated",
        "note",
        "modified",
    )
    fieldsets = (
        (None, {"fields": ("name", "note")}),
        (
            "Who gets it (first match wins)",
            {
                "fields": ("everyone", "superusers", "staff", "authenticated", "users", "groups"),
                "description": "Everyone: Yes turns it on for all users, No is the kill switch "
                "(off for all, whitelist included); Unknown uses the rules below, then percent.",
            },
        ),
        ("Percentage rollout", {"fields": ("percent",)}),
        ("Rarely used", {"classes": ("collapse",), "fields": ("testing", "rollout", "languages")}),
    )
