"""A subscribe's three snapshots cost four reads, however much the account holds."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from realtime.conf import CHANNELS
from realtime.snapshots import snapshot_frames
from tests.factories import make_account
from tests.trading.order_api import submit_limit
from trading.services.orders import order_submit

pytestmark = pytest.mark.django_db


def test_the_three_snapshots_are_four_reads(work_queue: Any) -> None:
    account = make_account("snapshot-statements")
    for symbol in ("AAPL", "MSFT", "NVDA"):
        order_submit(account=account, symbol=symbol, side="buy", qty=Decimal("1"), type="market")
    work_queue()
    submit_limit(account, price="1.00")
    work_queue()

    with CaptureQueriesContext(connection) as queries:
        frames = snapshot_frames(account.pk, CHANNELS)
    assert [frame["channel"] for frame in frames] == list(CHANNELS)
    positions, orders, _ = frames
    assert len(positions["data"]["positions"]) == 3
    assert len(orders["data"]["orders"]) == 1 and len(orders["data"]["fills"]) == 3
    selects = [q for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4
