"""The simulated venue locks the position it moves, so two bookings cannot undo each other."""

import threading
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection, transaction

from tests.factories import make_account
from trading.broker.simulated.venue import _venue_position
from trading.models import SimulatedOrder, SimulatedPosition

_ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.postgres
@pytest.mark.skipif(not _ON_POSTGRES, reason="row locks are PostgreSQL's; SQLite's writes queue")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_second_booking_waits_for_the_venue_position_the_first_is_moving():
    account = make_account("venue-lock")
    SimulatedPosition.objects.create(
        account_id=account.pk, symbol="AAPL", qty=Decimal("2"), avg_entry_price=Decimal("100")
    )
    order = SimulatedOrder(account_id=account.pk, symbol="AAPL")
    holding, release = threading.Event(), threading.Event()

    def first_booking() -> None:
        try:
            with transaction.atomic():
                assert _venue_position(order) is not None
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=first_booking)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            _venue_position(order)  # without the lock it would read the quantity at once
    finally:
        release.set()
        thread.join(10)
