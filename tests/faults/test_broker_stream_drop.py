"""Drill 4: the Alpaca trade stream drops in the middle of an order's fills.

The unmodified alpaca-py client talks to the fake Alpaca (tests/fake_alpaca) through the
broker-stream host, as `serve` runs it. Partial fills keep coming while the socket is cut
again and again: some frames are lost with the socket, some land while it reconnects,
one is replayed with its old execution_id. Alpaca replays nothing after a reconnect, so
only the REST resync can recover what was lost. At the end our books equal the broker's:
every share filled there is booked here exactly once (lost none, doubled none).

The happy-path and single-outage cases are in tests/trading/test_alpaca_stream.py and
tests/integration/test_alpaca_end_to_end.py; this is the repeated, mid-burst version.
"""

import random
from decimal import Decimal

import pytest

from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    broker_host_fixture,
    fake_alpaca_fixture,
    link_alpaca_account,
    wait_until,
)
from trading.enums import OrderStatus
from trading.models import BrokerAccount, Fill, Order, Position
from trading.services.orders import order_submit

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

D = Decimal
ROUNDS = 6


def submit(account: BrokerAccount, symbol: str, qty: str) -> Order:
    return order_submit(account=account, symbol=symbol, side="buy", qty=D(qty), type="market")


def listening(fake) -> bool:
    return fake.trade_listeners(KEY_ID) == 1


def books(account: BrokerAccount, fake) -> tuple[dict, dict]:
    """(ours, the broker's): per order, filled qty and the sum of its booked fills; positions."""
    ours: dict = {}
    theirs: dict = {}
    for order in Order.objects.filter(account=account):
        booked = sum((f.qty for f in Fill.objects.filter(order=order)), D("0"))
        ours[order.client_order_id] = (order.filled_qty, booked)
        filled = D(fake.order(KEY_ID, order.client_order_id)["filled_qty"])
        theirs[order.client_order_id] = (filled, filled)
    ours["positions"] = {
        p.symbol: (p.qty, p.avg_entry_price) for p in Position.objects.filter(account=account)
    }
    theirs["positions"] = fake.positions(KEY_ID)
    ours["cash"] = BrokerAccount.objects.get(pk=account.pk).cash
    theirs["cash"] = fake.account(KEY_ID).cash
    return ours, theirs


def test_fills_across_repeated_stream_drops_are_booked_exactly_once(
    fake_alpaca, broker_host, work_queue
):
    rng = random.Random(20261202)
    account = link_alpaca_account(fake_alpaca, auto_fill=False)
    broker_host.start()
    wait_until(lambda: listening(fake_alpaca), what="a listening trade stream")
    aapl, msft = submit(account, "AAPL", "60"), submit(account, "MSFT", "24")
    work_queue()
    wait_until(
        lambda: Order.objects.filter(account=account, status=OrderStatus.NEW).count() == 2,
        what="both orders new at the broker",
    )

    for round_number in range(ROUNDS):
        # A fill on the live socket, then the cut, then fills while the client reconnects.
        fake_alpaca.fill(KEY_ID, aapl.client_order_id, qty="3", price=f"{200 + round_number}")
        fake_alpaca.drop_trade_streams(KEY_ID)
        for _ in range(rng.randint(1, 3)):
            order = rng.choice([aapl, msft])
            fake_alpaca.fill(KEY_ID, order.client_order_id, qty="1", price="201.5")
        if round_number % 2:
            # The outage lasts through the reconnect attempts: refused with HTTP 503.
            with fake_alpaca.trade_stream_down(KEY_ID):
                fake_alpaca.fill(KEY_ID, msft.client_order_id, qty="2", price="399.75")
        wait_until(lambda: listening(fake_alpaca), timeout=15, what="the stream back")
        fake_alpaca.replay_last_fill(KEY_ID)  # an old execution_id, again

    wait_until(
        lambda: (lambda pair: pair[0] == pair[1])(books(account, fake_alpaca)),
        timeout=15,
        what="our books to equal the broker's after the last resync",
    )

    # Live again: the rest arrives on the stream and is booked on top, once.
    for order in (aapl, msft):
        fake_alpaca.fill(KEY_ID, order.client_order_id)
    wait_until(
        lambda: (
            set(Order.objects.filter(account=account).values_list("status", flat=True))
            == {OrderStatus.FILLED}
        ),
        timeout=10,
        what="both orders filled",
    )
    wait_until(
        lambda: (lambda pair: pair[0] == pair[1])(books(account, fake_alpaca)),
        timeout=10,
        what="books equal after the live fills",
    )
    ours, _ = books(account, fake_alpaca)
    assert ours[aapl.client_order_id] == (D("60"), D("60"))
    assert ours[msft.client_order_id] == (D("24"), D("24"))
    assert fake_alpaca.streams.trade_connects[KEY_ID] >= ROUNDS + 1  # it really was cut
