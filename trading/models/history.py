"""Intraday equity history: one point per account per minute, for the day's chart."""

from django.db import models

from trading.models.accounts import BrokerAccount
from trading.models.fields import money_field


class EquityPoint(models.Model):
    """The account's equity as sampled at `at` (a minute, aware UTC, seconds zero)."""

    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="equity_points"
    )
    at = models.DateTimeField()
    equity = money_field()

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "at"], name="equitypoint_one_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.at:%Y-%m-%d %H:%M} {self.equity}"
