"""The operator's test-trade and price-nudge forms."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from trading.enums import OrderSide, OrderType
from trading.models import Instrument


def _symbols() -> list[tuple[str, str]]:
    return [
        (s, s) for s in Instrument.objects.filter(tradable=True).values_list("symbol", flat=True)
    ]


class TestTradeForm(forms.Form):
    """An order placed for a user, through the same service (and queue) as the user's own."""

    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(broker_account__isnull=False).order_by("username"),
        to_field_name="username",
    )
    symbol = forms.ChoiceField(choices=_symbols)
    side = forms.ChoiceField(choices=OrderSide.choices)
    qty = forms.DecimalField(min_value=Decimal("0.000001"), max_digits=18, decimal_places=6)
    type = forms.ChoiceField(choices=OrderType.choices, initial=OrderType.MARKET)
    limit_price = forms.DecimalField(
        required=False, min_value=Decimal("0.01"), max_digits=18, decimal_places=2
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("type") == OrderType.LIMIT and data.get("limit_price") is None:
            self.add_error("limit_price", "A limit order needs a limit price.")
        return data


class PriceNudgeForm(forms.Form):
    """Move a simulated price by a percentage, now."""

    symbol = forms.ChoiceField(choices=_symbols)
    percent = forms.DecimalField(
        min_value=Decimal("-50"),
        max_value=Decimal("50"),
        decimal_places=2,
        help_text="-50 to 50; e.g. 1 for +1 %, -2.5 for -2.5 %.",
    )
