"""One model's rows read by raw SQL built once per query shape, loaded as the ORM loads them."""

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import TransactionManagementError

# Why not the QuerySet: the order path reads a handful of rows per order, every connecting
# socket its user, account and snapshot, and the ORM builds and compiles each query anew
# (0.4-0.7 ms of Python each, two thirds of a read's CPU in the order worker's profile,
# 4.5 of a snapshot's 4.6 ms). Here the statement is built once per model, filter
# names, ordering and lock; each filter value is prepared by its field as a lookup's is,
# and each column goes through the converters the ORM's compiler would apply (SQLite's
# decimals, datetimes and booleans), so the instances are the ORM's own (Model.from_db).
# Only equality and IN filters on concrete columns, and joins along non-null foreign keys
# (select_related's INNER JOIN): the shapes these paths need.

ModelT = TypeVar("ModelT", bound=models.Model)
Column = models.Field[Any, Any]
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


class _Loader(NamedTuple):
    """One model's columns in a SELECT: its attribute names and their converters."""

    model: type[models.Model]
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, tuple[tuple[Callable[..., Any], bool], ...], Any], ...]


class _Statement(NamedTuple):
    """A query shape's SQL, the fields its parameters belong to, and how to load a row."""

    sql: str
    filters: tuple[Column, ...]
    loaders: tuple[tuple[str | None, _Loader], ...]  # (the related name or None, loader)


def _connection(model: type[models.Model], for_update: bool) -> BaseDatabaseWrapper:
    # A locking read goes where the writes go, as select_for_update's queryset does.
    route = router.db_for_write if for_update else router.db_for_read
    return connections[route(model)]


def _field(model: type[models.Model], name: str) -> Column:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.concrete:
        raise ValueError(f"{model.__name__}.{name} is not a concrete column")
    return field


def _loader(model: type[models.Model], table: str, connection: BaseDatabaseWrapper) -> _Loader:
    fields = model._meta.concrete_fields
    columns = [field.get_col(table) for field in fields]
    return _Loader(
        model, tuple(field.attname for field in fields), _converters(columns, connection)
    )


# A converter as found for one connection, kept without it: the backend's converters are
# methods of its connection's `ops`, and a statement cache shared by every thread would
# keep the connection of whichever thread built the statement alive (and open).
_Unbound = tuple[Callable[..., Any], bool]  # (function, takes the connection's ops first)


def _unbound(converter: Converter, connection: BaseDatabaseWrapper) -> _Unbound:
    if getattr(converter, "__self__", None) is connection.ops:
        return converter.__func__, True  # type: ignore[attr-defined] # a bound method
    return converter, False


def _converters(
    columns: Sequence[Any], connection: BaseDatabaseWrapper
) -> tuple[tuple[int, tuple[_Unbound, ...], Any], ...]:
    found = []
    for index, column in enumerate(columns):
        converters = [
            *connection.ops.get_db_converters(column),
            *column.get_db_converters(connection),
        ]
        if converters:
            found.append((index, tuple(_unbound(c, connection) for c in converters), column))
    return tuple(found)


# Bounded all the same: the shapes are the code's (an IN's length is part of one), so a
# caller passing lists of varying length must not grow it without end.
@functools.lru_cache(maxsize=512)
def _statement(
    model: type[models.Model],
    filters: tuple[tuple[str, int], ...],
    related: tuple[str, ...],
    order_by: tuple[str, ...],
    limit: int | None,
    for_update: bool,
    alias: str,
) -> _Statement:
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    loaders: list[tuple[str | None, _Loader]] = [(None, _loader(model, table, connection))]
    joins = []
    for name in related:
        key = _field(model, name)
        if not isinstance(key, models.ForeignKey) or key.null:
            raise ValueError(f"{model.__name__}.{name} is not a non-null foreign key")
        target = key.related_model
        if not isinstance(target, type):  # a lazy reference the app registry never resolved
            raise ValueError(f"{model.__name__}.{name}: unresolved model {target!r}")
        other = target._meta.db_table
        loaders.append((name, _loader(target, other, connection)))
        joins.append(
            f" INNER JOIN {quote(other)} ON {quote(table)}.{quote(str(key.column))}"
            f" = {quote(other)}.{quote(str(key.target_field.column))}"
        )
    columns = ", ".join(
        f"{quote(loader.model._meta.db_table)}.{quote(str(field.column))}"
        for _, loader in loaders
        for field in loader.model._meta.concrete_fields
    )
    conditions, fields = [], []
    for name, count in filters:
        field = _field(model, name)
        column = f"{quote(table)}.{quote(str(field.column))}"
        fields.append(field)
        if count == _EQUALS:
            conditions.append(f"{column} = %s")
        elif count == _IS_NULL:
            conditions.append(f"{column} IS NULL")
        else:
            conditions.append(f"{column} IN ({', '.join(['%s'] * count)})")
    sql = f"SELECT {columns} FROM {quote(table)}{''.join(joins)}"  # noqa: S608 - names only
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    if order_by:
        sql += " ORDER BY " + ", ".join(
            f"{quote(table)}.{quote(str(_field(model, name.lstrip('-')).column))}"
            + (" DESC" if name.startswith("-") else " ASC")
            for name in order_by
        )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return _Statement(sql, tuple(fields), tuple(loaders))


# A filter's shape: how many values an IN takes, or one of these.
_EQUALS, _IS_NULL = -1, -2


def _ordering(model: type[models.Model]) -> tuple[str, ...]:
    """The model's Meta.ordering, field names only (what this module can order by)."""
    ordering = tuple(model._meta.ordering or ())
    if not all(isinstance(name, str) for name in ordering):
        raise ValueError(f"{model.__name__}: an ordering by expressions is the ORM's to read")
    return ordering  # type: ignore[return-value] # strings, checked above


def _filter_shape(where: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    shape: list[tuple[str, int]] = []
    for key, value in where.items():
        name, _, lookup = key.partition("__")
        if lookup == "in":
            shape.append((name, len(value)))
        elif not lookup:
            # `field=None` is IS NULL in the ORM; `= NULL` would match nothing.
            shape.append((name, _IS_NULL if value is None else _EQUALS))
        else:
            raise ValueError(f"unsupported lookup {key!r}: equality and __in only")
    return tuple(shape)


def _within_range(
    model: type[models.Model], where: Mapping[str, Any], connection: BaseDatabaseWrapper
) -> Mapping[str, Any] | None:
    """`where` without the integers no column of their field's type can hold (None if an
    equality has one): the ORM's lookups match nothing with them (IntegerFieldOverflow),
    where the driver would raise OverflowError (SQLite) or a range error."""
    cleaned: dict[str, Any] | None = None
    for key, value in where.items():
        name, _, lookup = key.partition("__")
        values = value if lookup == "in" else (value,)
        if not any(isinstance(item, int) for item in values):
            continue  # the common case, without a field lookup
        field = _field(model, name)
        if lookup == "in":
            kept = [item for item in value if not _out_of_range(field, item, connection)]
            if len(kept) != len(value):
                cleaned = dict(where) if cleaned is None else cleaned
                cleaned[key] = kept
        elif _out_of_range(field, value, connection):
            return None
    return where if cleaned is None else cleaned


def _out_of_range(field: Column, value: Any, connection: BaseDatabaseWrapper) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    internal_type = target.get_internal_type()
    if internal_type not in connection.ops.integer_field_ranges:
        return False
    low, high = connection.ops.integer_field_range(internal_type)
    return (low is not None and value < low) or (high is not None and value > high)


def _build(loader: _Loader, values: Sequence[Any], connection: BaseDatabaseWrapper) -> Any:
    row = list(values)
    for index, converters, column in loader.converters:
        value = row[index]
        for function, takes_ops in converters:
            if takes_ops:
                value = function(connection.ops, value, column, connection)
            else:
                value = function(value, column, connection)
        row[index] = value
    return loader.model.from_db(connection.alias, loader.attnames, row)


def rows_read(
    model: type[ModelT],
    *,
    where: Mapping[str, Any],
    related: Sequence[str] = (),
    order_by: Sequence[str] | None = None,
    limit: int | None = None,
    for_update: bool = False,
) -> list[ModelT]:
    """`model.objects[.select_for_update()][.select_related(*related)].filter(**where)
    [.order_by(*order_by)][:limit]`, evaluated; without `order_by`, the model's ordering.

    `where` maps a concrete field's name (or "pk") to a value (None: IS NULL, as the ORM's
    `field=None`), or "name__in" to a sequence. An empty IN matches nothing, as the ORM's
    does, without a query.
    """
    shape = _filter_shape(where)  # refuses what it cannot read before anything else
    connection = _connection(model, for_update)
    checked = _within_range(model, where, connection)
    if checked is None:
        return []
    if checked is not where:  # an IN lost values: another shape
        where = checked
        shape = _filter_shape(where)
    if any(count == 0 for _, count in shape):
        return []
    if for_update and connection.features.has_select_for_update and connection.get_autocommit():
        # As select_for_update: a lock outside a transaction would end with its statement.
        raise TransactionManagementError(
            "select_for_update cannot be used outside of a transaction."
        )
    ordering = _ordering(model) if order_by is None else tuple(order_by)
    statement = _statement(
        model, shape, tuple(related), ordering, limit, for_update, connection.alias
    )
    params: list[Any] = []
    for field, (_, count), value in zip(statement.filters, shape, where.values(), strict=True):
        if count == _EQUALS:
            params.append(field.get_db_prep_value(value, connection))
        elif count != _IS_NULL:
            params.extend(field.get_db_prep_value(item, connection) for item in value)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchall()
    (_, head), *joined = statement.loaders
    found: list[ModelT] = []
    for values in rows:
        instance = _build(head, values[: len(head.attnames)], connection)
        start = len(head.attnames)
        for name, loader in joined:
            end = start + len(loader.attnames)
            setattr(instance, str(name), _build(loader, values[start:end], connection))
            start = end
        found.append(instance)
    return found


def row_read(
    model: type[ModelT],
    *,
    related: Sequence[str] = (),
    for_update: bool = False,
    **where: Any,
) -> ModelT | None:
    """QuerySet.first: the first row matching `where` in the model's ordering (else by
    primary key), or None."""
    ordering = _ordering(model) or ("pk",)
    rows = rows_read(
        model, where=where, related=related, order_by=ordering, limit=1, for_update=for_update
    )
    return rows[0] if rows else None


def row_get(
    model: type[ModelT], *, related: Sequence[str] = (), for_update: bool = False, **where: Any
) -> ModelT:
    """QuerySet.get: the one row matching `where`; DoesNotExist or MultipleObjectsReturned."""
    rows = rows_read(
        model, where=where, related=related, order_by=(), limit=2, for_update=for_update
    )
    if not rows:
        raise model.DoesNotExist(f"{model.__name__} matching {sorted(where)} does not exist")  # type: ignore[attr-defined]
    if len(rows) > 1:
        raise model.MultipleObjectsReturned(f"more than one {model.__name__} matches")  # type: ignore[attr-defined]
    return rows[0]
