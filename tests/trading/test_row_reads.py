"""Raw row reads load exactly what the ORM's querysets load, on both databases."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from tests.factories import make_account
from tests.trading.order_api import submit_limit
from trading.enums import OPEN_ORDER_STATUSES, OrderStatus
from trading.models import (
    BrokerAccount,
    Fill,
    Instrument,
    Order,
    OrderJob,
    Position,
    SimulatedOrder,
    SimulatedPosition,
)
from trading.services.orders import order_submit
from trading.services.row_reads import row_get, row_read, rows_read

# Every model read through row_reads: the order path's, the portfolio snapshot's and the
# socket's admission (its user and account).
ROW_READ_MODELS: tuple[type[models.Model], ...] = (
    BrokerAccount,
    Fill,
    get_user_model(),
    Instrument,
    Order,
    OrderJob,
    Position,
    SimulatedOrder,
    SimulatedPosition,
)

pytestmark = pytest.mark.django_db


def _loaded(instance: models.Model) -> list[tuple[str, str, str]]:
    """Every column as loaded: its name, its value's type and repr (Decimal('1.50') is not
    Decimal('1.5'), an aware datetime is not a naive one)."""
    return [
        (field.attname, type(value).__name__, repr(value))
        for field in instance._meta.concrete_fields
        for value in [getattr(instance, field.attname)]
    ]


def _books(account: BrokerAccount) -> None:
    order_submit(account=account, symbol="AAPL", side="buy", qty=Decimal("3"), type="market")
    submit_limit(account, price="1.2345", qty="1.5", symbol="MSFT")


def test_every_model_on_the_order_path_loads_as_the_orm_loads_it(work_queue: Any) -> None:
    account = make_account("reads")
    _books(account)
    work_queue()
    order_submit(account=account, symbol="NVDA", side="buy", qty=Decimal("2"), type="market")
    checked = 0
    for model in ROW_READ_MODELS:
        expected = list(model._default_manager.order_by("pk"))
        assert expected, model
        read = rows_read(model, where={}, order_by=("pk",))
        assert [_loaded(row) for row in read] == [_loaded(row) for row in expected], model
        assert all(not row._state.adding and row._state.db == "default" for row in read)
        checked += len(read)
    assert checked > 40  # the seeded universe, the account's orders, jobs and positions


def test_filters_in_ordering_and_a_limit_match_the_querysets() -> None:
    account = make_account("filters")
    _books(account)
    open_orders = rows_read(
        Order,
        where={"account_id": account.pk, "status__in": OPEN_ORDER_STATUSES},
        order_by=("submitted_at", "pk"),
    )
    expected = account.orders.filter(status__in=OPEN_ORDER_STATUSES).order_by("submitted_at", "pk")
    assert [o.pk for o in open_orders] == [o.pk for o in expected]
    assert len(open_orders) == 2
    newest = rows_read(
        Order, where={"account_id": account.pk}, order_by=("-submitted_at",), limit=1
    )
    assert [o.pk for o in newest] == list(
        account.orders.order_by("-submitted_at").values_list("pk", flat=True)[:1]
    )
    assert rows_read(Order, where={"status__in": [OrderStatus.FILLED]}) == []
    assert row_read(Instrument, symbol="AAPL") == Instrument.objects.get(symbol="AAPL")
    assert row_read(Instrument, symbol="NOPE") is None
    # field=None is IS NULL, as in the ORM: the market order has no limit price.
    market = rows_read(Order, where={"account_id": account.pk, "limit_price": None})
    assert [o.symbol for o in market] == ["AAPL"]


def test_an_empty_in_reads_nothing_and_asks_the_database_nothing() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert rows_read(Order, where={"status__in": []}) == []
    assert len(queries) == 0


def test_a_joined_read_loads_the_related_row_without_another_query() -> None:
    account = make_account("joined")
    _books(account)
    job = OrderJob.objects.order_by("pk").first()
    assert job is not None
    with CaptureQueriesContext(connection) as queries:
        order = row_get(Order, related=("account",), pk=job.order_id)
        account_read = order.account
    assert len(queries) == 1
    assert _loaded(account_read) == _loaded(BrokerAccount.objects.get(pk=account.pk))
    assert _loaded(order) == _loaded(Order.objects.get(pk=job.order_id))


def test_get_raises_as_the_orm_does() -> None:
    make_account("get")
    with pytest.raises(BrokerAccount.DoesNotExist):
        row_get(BrokerAccount, pk=-1)
    with pytest.raises(Instrument.MultipleObjectsReturned):
        row_get(Instrument, tradable=True)


def test_a_locking_read_locks_on_postgresql_and_reads_alike_on_sqlite() -> None:
    account = make_account("locked")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = row_get(BrokerAccount, for_update=True, pk=account.pk)
    assert _loaded(locked) == _loaded(BrokerAccount.objects.get(pk=account.pk))
    (query,) = queries
    assert query["sql"].endswith("FOR UPDATE") == (connection.vendor == "postgresql")


def test_what_it_cannot_read_is_refused_before_any_query() -> None:
    with pytest.raises(ValueError, match="equality and __in only"):
        rows_read(Order, where={"qty__gt": 1})
    with pytest.raises(ValueError, match="not a non-null foreign key"):
        rows_read(Order, where={}, related=("symbol",))
    with pytest.raises(ValueError, match="not a concrete column"):
        rows_read(BrokerAccount, where={"orders": 1})


def test_without_an_ordering_the_models_own_applies_as_in_the_orm() -> None:
    account = make_account("ordered")
    _books(account)
    first = row_read(Order, account_id=account.pk)  # Order's Meta.ordering: newest first
    assert first == Order.objects.filter(account_id=account.pk).first()
    assert first is not None and first.symbol == "MSFT"
    symbols = [i.symbol for i in rows_read(Instrument, where={"tradable": True})]
    assert symbols == list(
        Instrument.objects.filter(tradable=True).values_list("symbol", flat=True)
    )
    assert symbols == sorted(symbols)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_locking_read_outside_a_transaction_is_refused_where_it_would_lock() -> None:
    account = make_account("autocommit")
    if connection.vendor == "postgresql":
        with pytest.raises(TransactionManagementError):
            row_get(BrokerAccount, for_update=True, pk=account.pk)
        with pytest.raises(TransactionManagementError):  # as the ORM's own
            list(BrokerAccount.objects.select_for_update().filter(pk=account.pk))
    else:  # SQLite has no row locks; the ORM reads there too
        assert row_get(BrokerAccount, for_update=True, pk=account.pk).pk == account.pk


def test_an_integer_no_column_can_hold_matches_nothing_as_in_the_orm() -> None:
    account = make_account("overflow")
    huge = 2**70
    assert list(BrokerAccount.objects.filter(pk=huge)) == []
    assert rows_read(BrokerAccount, where={"pk": huge}) == []
    assert row_read(Order, account_id=-huge) is None
    kept = rows_read(BrokerAccount, where={"pk__in": [huge, account.pk]})
    assert [a.pk for a in kept] == [account.pk]
    assert rows_read(BrokerAccount, where={"pk__in": [huge]}) == []
