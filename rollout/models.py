"""The waffle flag model (WAFFLE_FLAG_MODEL): a percentage that sticks to users."""

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import HttpRequest
from waffle.models import AbstractUserFlag

from rollout.cohort import in_percent


class Flag(AbstractUserFlag):
    """A waffle flag whose `percent` picks users by a stable hash instead of a cookie dice roll.

    Waffle's own percent is decided per browser and kept in a cookie, and
    `is_active_for_user` ignores it; here the page, REST and the socket ask about the user and
    all get the same answer, on every device. Order of the rules, first match wins:
    `everyone` (Yes: all, No: the kill switch, nobody), then superusers/staff/authenticated,
    then the users and groups (the whitelist), then the user's bucket against `percent`.
    """

    percent = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="0.0 to 100.0: the share of users for whom the flag is on. Sticky per user: "
        "raising it only adds users, lowering it only removes them.",
        verbose_name="Percent",
    )

    class Meta(AbstractUserFlag.Meta):
        pass

    def is_active_for_user(self, user: Any) -> bool | None:
        if self.pk is None:
            return None  # a flag that does not exist is off (waffle's FLAG_DEFAULT)
        if self.everyone is not None:
            # Waffle's AbstractUserFlag lets the user list win over everyone=False; the kill
            # switch must win over everything.
            return self.everyone
        active = super().is_active_for_user(user)
        if active is not None:
            return active
        user_id = getattr(user, "pk", None)
        if user_id is not None and in_percent(self.name, user_id, self.percent):
            return True
        return None

    def _is_active_for_percent(self, request: HttpRequest, read_only: bool) -> bool | None:
        # The percentage was decided in is_active_for_user; no per-browser cookie here.
        return None
