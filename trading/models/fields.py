"""Shared decimal field shapes, so every money and quantity column agrees on precision."""

from decimal import Decimal
from typing import Any

from django.db import models


def money_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def price_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    return models.DecimalField(max_digits=20, decimal_places=8, **kwargs)


def optional_price_field(**kwargs: Any) -> "models.DecimalField[Decimal | None, Decimal | None]":
    """A price that may be absent (a market order's limit, an unfilled order's average)."""
    return models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True, **kwargs)


def qty_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    return models.DecimalField(max_digits=20, decimal_places=6, **kwargs)


def ratio_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(max_digits=14, decimal_places=6, **kwargs)
