"""Shared decimal column shapes: every money, price and quantity column holds its values exactly."""

from decimal import Decimal
from typing import Any

from django.db import DataError, models
from django.db.backends.base.base import BaseDatabaseWrapper

from trading.money import (
    MONEY_DIGITS,
    PRICE_DIGITS,
    QTY_DIGITS,
    RATIO_DIGITS,
    fits_column,
)


class ExactDecimalField(models.DecimalField):  # type: ignore[type-arg]
    """A DecimalField that refuses, on every database, a value its column cannot hold.

    SQLite has no decimal type: it stores a double and Django reads 15 digits back, so a
    wider value would come back rounded without a word (PostgreSQL raises "numeric field
    overflow"). Refusing it before the write makes both databases behave alike.
    """

    def get_db_prep_save(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        prepared = super().get_db_prep_save(value, connection)
        if isinstance(prepared, Decimal) and not fits_column(
            prepared, self.max_digits, self.decimal_places
        ):
            raise DataError(
                f"{self.model.__name__}.{self.name}: {prepared} does not fit "
                f"{self.max_digits} digits with {self.decimal_places} decimal places"
            )
        return prepared


def money_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    kwargs.setdefault("default", Decimal("0"))
    return ExactDecimalField(max_digits=MONEY_DIGITS, decimal_places=2, **kwargs)


def optional_money_field(**kwargs: Any) -> "models.DecimalField[Decimal | None, Decimal | None]":
    return ExactDecimalField(
        max_digits=MONEY_DIGITS, decimal_places=2, null=True, blank=True, **kwargs
    )


def price_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    return ExactDecimalField(max_digits=PRICE_DIGITS, decimal_places=8, **kwargs)


def optional_price_field(**kwargs: Any) -> "models.DecimalField[Decimal | None, Decimal | None]":
    """A price that may be absent (a market order's limit, an unfilled order's average)."""
    return ExactDecimalField(
        max_digits=PRICE_DIGITS, decimal_places=8, null=True, blank=True, **kwargs
    )


def qty_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    return ExactDecimalField(max_digits=QTY_DIGITS, decimal_places=6, **kwargs)


def ratio_field(**kwargs: Any) -> "models.DecimalField[Decimal, Decimal]":
    kwargs.setdefault("default", Decimal("0"))
    return ExactDecimalField(max_digits=RATIO_DIGITS, decimal_places=6, **kwargs)
