"""Position sync: ours are made equal to the broker's, and only real changes are signalled."""

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import set_price
from trading import signals
from trading.broker.simulated.venue import SimulatedGateway
from trading.broker.types import BrokerOrder, BrokerPosition, OrderRequest
from trading.models import BrokerAccount, Position
from trading.services.fills import trade_update_apply
from trading.services.position_sync import positions_sync

D = Decimal


class FakeGateway:
    """A broker whose positions are whatever the test says."""

    def __init__(self, positions: list[BrokerPosition]) -> None:
        self.positions = positions

    def list_positions(self) -> list[BrokerPosition]:
        return list(self.positions)

    def submit_order(self, request: OrderRequest) -> BrokerOrder:
        raise NotImplementedError

    def cancel_order(self, broker_order_id: str) -> None:
        raise NotImplementedError

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        raise NotImplementedError


def venue(account: BrokerAccount) -> SimulatedGateway:
    return SimulatedGateway(account.pk, trade_update_apply, max_fill_qty=D("1000000"))


def trade(account: BrokerAccount, symbol: str, side: str, qty: str) -> None:
    request = OrderRequest(uuid.uuid4().hex, symbol, side, "market", "day", D(qty), None)
    venue(account).submit_order(request)


def ours(account: BrokerAccount) -> list[BrokerPosition]:
    rows = Position.objects.filter(account=account).order_by("symbol")
    return [BrokerPosition(p.symbol, p.qty, p.avg_entry_price) for p in rows]


@pytest.fixture
def signalled() -> Iterator[list[dict[str, Any]]]:
    log: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        log.append(kwargs)

    signals.position_changed.connect(receiver)
    yield log
    signals.position_changed.disconnect(receiver)


@pytest.fixture
def book(account: BrokerAccount) -> BrokerAccount:
    """Long 10 AAPL at 200, long 5 MSFT at 400, short 3 TSLA at 250, in both books."""
    set_price("AAPL", "200.00")
    set_price("MSFT", "400.00")
    set_price("TSLA", "250.00")
    set_price("NVDA", "130.00")
    trade(account, "AAPL", "buy", "10")
    trade(account, "MSFT", "buy", "5")
    trade(account, "TSLA", "sell", "3")
    return account


BOOK = [
    BrokerPosition("AAPL", D("10"), D("200.00")),
    BrokerPosition("MSFT", D("5"), D("400.00")),
    BrokerPosition("TSLA", D("-3"), D("250.00")),
]


def test_equal_positions_signal_nothing(book, signalled, django_capture_on_commit_callbacks):
    book.refresh_from_db()
    seqs = (book.positions_seq, book.account_seq)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert positions_sync(account=book, gateway=FakeGateway(BOOK)) == []
    assert signalled == []
    assert callbacks == []
    book.refresh_from_db()
    assert (book.positions_seq, book.account_seq) == seqs
    assert ours(book) == BOOK


def test_changed_missing_and_extra_positions_are_fixed_and_signalled(
    book, signalled, django_capture_on_commit_callbacks
):
    broker = [
        BrokerPosition("AAPL", D("10"), D("200.00")),  # equal
        BrokerPosition("MSFT", D("8"), D("410.00")),  # changed
        BrokerPosition("NVDA", D("20"), D("130.00")),  # missing locally
        # TSLA: only ours, extra locally
    ]
    with django_capture_on_commit_callbacks(execute=True):
        changed = positions_sync(account=book, gateway=FakeGateway(broker))
    assert changed == ["MSFT", "NVDA", "TSLA"]
    assert sorted(kw["position"].symbol for kw in signalled) == ["MSFT", "NVDA", "TSLA"]
    assert {kw["account_id"] for kw in signalled} == {book.pk}
    closed = next(kw["position"] for kw in signalled if kw["position"].symbol == "TSLA")
    assert closed.qty == 0
    assert ours(book) == broker

    nvda = Position.objects.get(account=book, symbol="NVDA")
    assert (nvda.current_price, nvda.market_value, nvda.unrealized_pl) == (
        D("130.00"),
        D("2600.00"),
        D("0.00"),
    )
    msft = Position.objects.get(account=book, symbol="MSFT")
    # Marked at the market's 400: 3200 - 8 x 410
    assert (msft.market_value, msft.cost_basis, msft.unrealized_pl) == (
        D("3200.00"),
        D("3280.00"),
        D("-80.00"),
    )
    book.refresh_from_db()
    # Cash is the broker's business, untouched: 100000 - 2000 - 2000 + 750
    assert book.cash == D("96750.00")
    assert book.long_market_value == D("7800.00")  # 2000 + 3200 + 2600
    assert book.short_market_value == D("0.00")
    assert book.equity == D("104550.00")


def test_a_zero_quantity_broker_position_counts_as_none(book):
    broker = [*BOOK[:2], BrokerPosition("TSLA", D("0"), D("250.00"))]
    assert positions_sync(account=book, gateway=FakeGateway(broker)) == ["TSLA"]
    assert ours(book) == BOOK[:2]


def test_sync_of_an_empty_book_with_an_empty_broker(account):
    assert positions_sync(account=account, gateway=FakeGateway([])) == []


def test_sync_with_the_simulated_broker_after_desynchronising(
    book, signalled, django_capture_on_commit_callbacks
):
    gateway = venue(book)
    assert positions_sync(account=book, gateway=gateway) == []
    assert ours(book) == gateway.list_positions() == BOOK

    # Lose a fill, drop a position and invent one.
    Position.objects.filter(account=book, symbol="AAPL").update(qty=D("7"))
    Position.objects.filter(account=book, symbol="MSFT").delete()
    Position.objects.create(
        account=book,
        symbol="GOOGL",
        qty=D("1"),
        avg_entry_price=D("176.40"),
        current_price=D("176.40"),
        lastday_price=D("176.40"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        changed = positions_sync(account=book, gateway=gateway)
    assert changed == ["AAPL", "GOOGL", "MSFT"]
    assert [kw["position"].symbol for kw in signalled] == ["AAPL", "GOOGL", "MSFT"]
    assert ours(book) == gateway.list_positions() == BOOK
    assert positions_sync(account=book, gateway=gateway) == []


def test_sync_touches_only_that_account(book, other_account):
    trade(other_account, "AAPL", "buy", "1")
    positions_sync(account=book, gateway=FakeGateway([]))
    assert ours(book) == []
    assert ours(other_account) == [BrokerPosition("AAPL", D("1"), D("200.00"))]
