"""One row's INSERT or UPDATE as raw SQL built once per model and columns, the ORM's values."""

import functools
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

# Why not Model.save: the order worker writes a handful of rows per order, and the ORM
# builds each statement anew (0.3-0.5 ms of Python each, most of a write's CPU). Here the
# statement is built once per model and column list; every value still goes through its
# field's `pre_save` and `get_db_prep_save`, as in Model.save, so `auto_now` columns, the
# exact-decimal check of ExactDecimalField and each database's adaptation are the ORM's own.
# No pre_save/post_save signals are sent: services never rely on them (docs/architecture.md).

Column = models.Field[Any, Any]


def _key(model: type[models.Model]) -> Column:
    key = model._meta.pk
    if key is None:
        raise ValueError(f"{model.__name__} has no primary key")
    return key


@functools.cache
def _update_sql(
    model: type[models.Model], names: tuple[str, ...], vendor: str
) -> tuple[str, list[Column]]:
    fields = [model._meta.get_field(name) for name in names]
    columns = [field for field in fields if isinstance(field, models.Field) and field.concrete]
    if len(columns) != len(fields):
        raise ValueError(f"{model.__name__}: not all concrete columns: {names}")
    quote = _connection(model).ops.quote_name
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in columns)
    table, key = quote(model._meta.db_table), quote(str(_key(model).column))
    # Names come from the model; every value is a parameter.
    return f"UPDATE {table} SET {assignments} WHERE {key} = %s", columns  # noqa: S608


@functools.cache
def _insert_sql(model: type[models.Model], vendor: str) -> tuple[str, list[Column]]:
    meta = model._meta
    # An auto-incremented key is the database's to assign; any other key is the model's.
    columns = [field for field in meta.concrete_fields if field is not meta.auto_field]
    quote = _connection(model).ops.quote_name
    names = ", ".join(quote(str(field.column)) for field in columns)
    marks = ", ".join(["%s"] * len(columns))
    table, key = quote(meta.db_table), quote(str(_key(model).column))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING {key}"  # noqa: S608
    return sql, columns


def _connection(model: type[models.Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]


def _prepared(
    instance: models.Model, columns: list[Column], add: bool, connection: BaseDatabaseWrapper
) -> list[Any]:
    """The columns' values as Model.save sends them: pre_save (auto_now), then prepared."""
    return [field.get_db_prep_save(field.pre_save(instance, add), connection) for field in columns]


def row_update(instance: models.Model, fields: Sequence[str]) -> None:
    """`instance.save(update_fields=fields)`: DatabaseError if no row was updated."""
    model = type(instance)
    connection = _connection(model)
    sql, columns = _update_sql(model, tuple(fields), connection.vendor)
    values = _prepared(instance, columns, False, connection)
    values.append(_key(model).get_db_prep_save(instance.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if cursor.rowcount != 1:
            raise DatabaseError(f"{model.__name__} {instance.pk}: the update wrote no row")


def row_insert(instance: models.Model) -> None:
    """`instance.save(force_insert=True)`: the key comes back into the instance; a conflict
    raises IntegrityError, as the ORM's would."""
    model = type(instance)
    connection = _connection(model)
    sql, columns = _insert_sql(model, connection.vendor)
    values = _prepared(instance, columns, True, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        (key,) = cursor.fetchone()
    auto = model._meta.auto_field
    if auto is not None:
        setattr(instance, auto.attname, key)
    instance._state.adding = False
    instance._state.db = connection.alias
