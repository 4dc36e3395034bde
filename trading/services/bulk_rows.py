"""Bulk row updates: a batch of rows' columns written in one statement (or executemany)."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import DataError, connections, models, router

from trading.money import fits_column


def rows_write(
    model: type[models.Model],
    fields: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    key: str = "id",
) -> None:
    """UPDATE `fields` of each row (values, then the key): one statement on PostgreSQL, one
    executemany on SQLite.

    Not `QuerySet.bulk_update` (a CASE WHEN per field and row: 88 % of a mark's time in an
    earlier profile); the column checks run once per column and batch instead of once per
    value (at 10,000 marks a tick, field by field preparation of the
    values was a fifth of the tick): decimals are checked against their column's shape
    (the exact-decimal rule of ExactDecimalField), datetimes prepared by their field.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in (*fields, key)]
    typed = [field for field in columns if isinstance(field, models.Field)]
    if len(typed) != len(columns):
        raise ValueError(f"not all concrete columns: {fields}, {key}")
    concrete, key_field = typed[:-1], typed[-1]
    for index, field in enumerate(concrete):
        values = [row[index] for row in rows]
        if isinstance(field, models.DecimalField):
            _decimals_check(model, field, values)  # both drivers take a Decimal as it is
        elif isinstance(field, models.DateTimeField):
            # A batch shares its timestamp: each distinct value is prepared once.
            ready = {v: field.get_db_prep_save(v, connection) for v in set(values)}
            if any(ready[v] is not v for v in ready):  # PostgreSQL takes them as they are
                rows = [(*row[:index], ready[row[index]], *row[index + 1 :]) for row in rows]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        # One statement for the batch: each column an array, joined back by the key. As
        # 10,000 statements (pipelined executemany), PostgreSQL's per-statement work and
        # psycopg binding each row's values took a third of a tick.
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in typed)
        names = ", ".join(quote(str(field.column)) for field in typed)
        assignments = ", ".join(
            f"{quote(str(f.column))} = v.{quote(str(f.column))}" for f in concrete
        )
        column = quote(str(key_field.column))
        # Names and types come from the model; every value is a parameter.
        sql = (
            f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
            f"WHERE {table}.{column} = v.{column}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [pg_array(values) for values in zip(*rows, strict=True)])
        return
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in concrete)
    # Names come from the model; every value is a parameter. SQLite runs each statement in
    # process: executemany is as quick as one statement would be.
    sql = f"UPDATE {table} SET {assignments} WHERE {quote(str(key_field.column))} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def pg_array(values: Sequence[Any]) -> str:
    """An array literal of the values, for the statement to cast: psycopg's list dumper
    quotes element by element in Python (a fifth of a tick). str() of a Decimal, an int or
    a datetime is PostgreSQL's input syntax; other elements are double-quoted, escaped."""
    if all(isinstance(v, Decimal | int) and not isinstance(v, bool) for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join("NULL" if v is None else _pg_quoted(str(v)) for v in values) + "}"


def _pg_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _decimals_check(
    model: type[models.Model], field: "models.DecimalField[Any, Any]", values: list[Any]
) -> None:
    """Refuse the batch if its largest value does not fit the column (ExactDecimalField's rule)."""
    largest = max((abs(v) for v in values if v is not None), default=None)
    if largest is None or fits_column(largest, field.max_digits or 0, field.decimal_places or 0):
        return
    raise DataError(
        f"{model.__name__}.{field.name}: {largest} does not fit "
        f"{field.max_digits} digits with {field.decimal_places} decimal places"
    )
