"""The portfolio snapshot's raw row reads list what the REST selectors' querysets list."""

from decimal import Decimal
from typing import Any

import pytest

from tests.factories import make_account
from tests.trading.order_api import submit_limit
from trading.selectors import (
    RECENT_FILLS,
    fill_list_recent,
    order_list,
    portfolio_snapshot_get,
    position_list,
)
from trading.services.orders import order_cancel_request, order_submit

pytestmark = pytest.mark.django_db

SYMBOLS = ("MSFT", "AAPL", "NVDA")


def test_the_snapshot_lists_what_the_selectors_list(work_queue: Any) -> None:
    account = make_account("snapshot-reads", cash=Decimal("10000000"))
    other = make_account("snapshot-other", cash=Decimal("10000000"))
    # More fills than the snapshot keeps, in several symbols, some of another account.
    for i in range(RECENT_FILLS + 4):
        order_submit(
            account=account, symbol=SYMBOLS[i % 3], side="buy", qty=Decimal("1"), type="market"
        )
    order_submit(account=other, symbol="AAPL", side="buy", qty=Decimal("2"), type="market")
    work_queue()
    # Open orders of two statuses (resting limits, one of them cancel-requested); the
    # filled market orders are closed and must not be listed.
    for price in ("1.01", "1.02", "1.03"):
        submit_limit(account, price=price)
    work_queue()
    resting = list(order_list(account=account, status="open"))
    assert len(resting) == 3
    cancelling = order_cancel_request(account=account, order_id=resting[0].pk)

    snapshot = portfolio_snapshot_get(account_id=account.pk)
    assert snapshot.account.pk == account.pk
    assert [p.pk for p in snapshot.positions] == [p.pk for p in position_list(account=account)]
    assert [p.symbol for p in snapshot.positions] == sorted(SYMBOLS)
    assert [o.pk for o in snapshot.open_orders] == [
        o.pk for o in order_list(account=account, status="open")
    ]
    assert cancelling.status in {o.status for o in snapshot.open_orders} - {resting[1].status}
    assert [f.pk for f in snapshot.recent_fills] == [
        f.pk for f in fill_list_recent(account=account)
    ]
    assert len(snapshot.recent_fills) == RECENT_FILLS
