"""The trader's broker account and the tradable instruments."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from trading.enums import BrokerProvider
from trading.models.fields import money_field, optional_price_field
from trading.money import ratio, to_money


class BrokerAccount(models.Model):
    """One brokerage account per user; balances mirror the broker's, P&L is marked to market."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="broker_account",
    )
    provider = models.CharField(
        max_length=16, choices=BrokerProvider.choices, default=BrokerProvider.SIMULATED
    )
    # Fernet token of the broker's API keys; see trading.crypto. Never shown in the admin.
    credentials_encrypted = models.TextField(blank=True, default="")
    credentials_hint = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="Last characters of the API key id.",
    )
    is_live = models.BooleanField(default=False, help_text="Live money rather than paper.")
    broker_status = models.CharField(max_length=32, blank=True, default="")
    broker_error = models.TextField(blank=True, default="")

    cash = money_field()
    equity = money_field()
    last_equity = money_field(help_text="Equity at the start of the trading day.")
    buying_power = money_field()
    long_market_value = money_field()
    short_market_value = money_field()
    # Locked in by closing fills (trading.domain.realized_pl_of_fill), at the entry price.
    realized_pl = money_field(help_text="Realized P&L since the account opened.")
    realized_pl_today = money_field(help_text="Realized P&L of the current trading day.")
    trading_day = models.DateField(null=True, blank=True)

    # Per-channel change counters, bumped in the same transaction as the change they
    # describe, so a snapshot and its sequence numbers always agree.
    positions_seq = models.PositiveBigIntegerField(default=0)
    orders_seq = models.PositiveBigIntegerField(default=0)
    account_seq = models.PositiveBigIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(buying_power__gte=0),
                name="account_buying_power_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(provider__in=BrokerProvider.values),
                name="account_provider_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.provider})"

    @property
    def day_pl(self) -> Decimal:
        return to_money(self.equity - self.last_equity)

    @property
    def day_pl_pct(self) -> Decimal:
        return ratio(self.equity - self.last_equity, self.last_equity)


class Instrument(models.Model):
    """A tradable symbol with its latest trade price and the previous session's close."""

    symbol = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=128, blank=True, default="")
    exchange = models.CharField(max_length=16, blank=True, default="")
    tradable = models.BooleanField(default=True)
    price = optional_price_field()
    prev_close = optional_price_field()
    price_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__isnull=True) | models.Q(price__gt=0),
                name="instrument_price_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol
