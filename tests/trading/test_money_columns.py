"""Every decimal column round-trips exactly at its limits, on SQLite and on PostgreSQL."""

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DataError, IntegrityError, models, transaction
from django.utils import timezone

from tests.factories import set_price
from tests.trading.order_api import with_csrf
from trading.models import (
    BrokerAccount,
    EquityPoint,
    Fill,
    Instrument,
    Order,
    Position,
    SimulatedOrder,
    SimulatedPosition,
)
from trading.models.fields import ExactDecimalField

D = Decimal
DOUBLE_EXACT_DIGITS = 15  # DBL_DIG: what SQLite's REAL holds exactly


def decimal_fields() -> list[tuple[type[models.Model], models.DecimalField]]:
    return [
        (model, field)
        for model in apps.get_app_config("trading").get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.DecimalField)
    ]


def field_id(item: tuple[type[models.Model], models.DecimalField]) -> str:
    return f"{item[0].__name__}.{item[1].name}"


def limits(field: models.DecimalField) -> list[Decimal]:
    """The largest and smallest values, the finest step, and every digit in use."""
    digits, places = field.max_digits, field.decimal_places
    largest = D(10) ** (digits - places) - D(1).scaleb(-places)
    all_digits = D("987654321098765"[:digits]).scaleb(-places)
    return [largest, -largest, D(1).scaleb(-places), all_digits, -all_digits, D("0.3")]


def _order_fields(now: object) -> dict[str, object]:
    return {
        "client_order_id": uuid.uuid4().hex,
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        # The widest quantity, so that any filled_qty stays within it.
        "qty": D("999999999.999999"),
        "limit_price": D("1"),
        "status": "new",
        "submitted_at": now,
    }


def make_row(model: type[models.Model], account: BrokerAccount) -> models.Model:
    now = timezone.now()
    builders: dict[type[models.Model], Callable[[], models.Model]] = {
        BrokerAccount: lambda: account,
        Instrument: lambda: Instrument.objects.get(symbol="AAPL"),
        EquityPoint: lambda: EquityPoint.objects.create(account=account, at=now, equity=D("1")),
        Position: lambda: Position.objects.create(
            account=account,
            symbol="AAPL",
            qty=D("1"),
            avg_entry_price=D("1"),
            current_price=D("1"),
            lastday_price=D("1"),
        ),
        Order: lambda: Order.objects.create(account=account, **_order_fields(now)),
        Fill: lambda: Fill.objects.create(
            account=account,
            order=Order.objects.create(account=account, **_order_fields(now)),
            execution_id=uuid.uuid4().hex,
            symbol="AAPL",
            side="buy",
            qty=D("1"),
            price=D("1"),
            executed_at=now,
        ),
        SimulatedOrder: lambda: SimulatedOrder.objects.create(
            account=account, updated_at=now, **_order_fields(now)
        ),
        SimulatedPosition: lambda: SimulatedPosition.objects.create(
            account=account, symbol="AAPL", qty=D("1"), avg_entry_price=D("1")
        ),
    }
    return builders[model]()


def test_no_decimal_column_is_wider_than_a_double_holds_exactly():
    wide = {
        field_id(item): item[1].max_digits
        for item in decimal_fields()
        if item[1].max_digits > DOUBLE_EXACT_DIGITS or not isinstance(item[1], ExactDecimalField)
    }
    assert not wide, f"wider than SQLite holds, or unguarded: {wide}"


@pytest.mark.parametrize("item", decimal_fields(), ids=field_id)
def test_decimal_column_round_trips_its_limits_exactly(account, item):
    model, field = item
    row = make_row(model, account)
    unit = D(1).scaleb(-field.decimal_places)
    for value in limits(field):
        try:
            with transaction.atomic():
                model._default_manager.filter(pk=row.pk).update(**{field.name: value})
        except IntegrityError:
            # A check constraint (a positive price, say) refuses it: not a value it admits.
            assert value <= 0, f"{field_id(item)} refused {value}"
            continue
        stored = model._default_manager.filter(pk=row.pk).values_list(field.name, flat=True)
        read = stored.get()
        assert read == value, f"{field_id(item)}: wrote {value}, read {read}"
        assert str(read) == str(value.quantize(unit))


@pytest.mark.parametrize("item", decimal_fields(), ids=field_id)
def test_a_value_wider_than_its_column_is_refused_not_rounded(account, item):
    model, field = item
    row = make_row(model, account)
    before = model._default_manager.filter(pk=row.pk).values_list(field.name, flat=True).get()
    too_wide = D(10) ** (field.max_digits - field.decimal_places)
    with pytest.raises(DataError), transaction.atomic():
        model._default_manager.filter(pk=row.pk).update(**{field.name: too_wide})
    after = model._default_manager.filter(pk=row.pk).values_list(field.name, flat=True).get()
    assert after == before


def test_the_reported_cash_balance_is_refused_and_the_largest_one_is_kept_to_the_cent(account):
    account.cash = D("123456789012345.67")  # 17 digits: SQLite read back ...346.00
    with pytest.raises(DataError), transaction.atomic():
        account.save(update_fields=["cash"])

    account.cash = D("9999999999999.99")
    account.save(update_fields=["cash"])
    account.refresh_from_db()
    assert str(account.cash) == "9999999999999.99"


@pytest.fixture
def client(api_client):
    return with_csrf(api_client)


def _holding_aapl(account: BrokerAccount) -> None:
    set_price("AAPL", "200.00")
    Position.objects.create(
        account=account,
        symbol="AAPL",
        qty=D("10"),
        avg_entry_price=D("200"),
        current_price=D("200"),
        lastday_price=D("200"),
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        # A covered sell needs no buying power, so only the column could refuse these.
        ({"limit_price": "1000000000000"}, "limit_price"),
        ({"limit_price": "10000000"}, "limit_price"),
        ({"limit_price": "99999999999999999999.5"}, "limit_price"),
        ({"qty": "1000000.000001"}, "qty"),
        ({"qty": "123456789012345.67"}, "qty"),
    ],
)
def test_api_refuses_values_the_columns_cannot_hold_with_a_400(client, account, fields, field):
    _holding_aapl(account)
    payload = {"symbol": "AAPL", "side": "sell", "qty": "10", "type": "limit"}
    payload["limit_price"] = "250.00"

    response = client.post("/api/orders/", {**payload, **fields}, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert not Order.objects.exists()


def test_api_accepts_the_largest_limit_price_a_column_holds(client, account):
    _holding_aapl(account)
    payload = {"symbol": "AAPL", "side": "sell", "qty": "10", "type": "limit"}

    response = client.post(
        "/api/orders/", {**payload, "limit_price": "9999999.9999"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Order.objects.get().limit_price == D("9999999.9999")
