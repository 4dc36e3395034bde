"""The simulated market (seeded random walk) and venue (matching, partial fills, cancels)."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError

from tests.factories import set_price
from trading.broker.simulated.market import MIN_PRICE, UNIVERSE, RandomWalkFeed
from trading.broker.simulated.venue import SimulatedGateway, match_symbol
from trading.broker.types import (
    BrokerNotCancelable,
    BrokerPosition,
    BrokerRejected,
    OrderRequest,
    TradeUpdate,
)
from trading.enums import OrderStatus
from trading.models import BrokerAccount, Fill, Instrument, Order, Position, SimulatedOrder
from trading.services.fills import trade_update_apply
from trading.services.market import SimulatedMarket, feed_from_instruments, market_tick
from trading.services.orders import order_submit

D = Decimal
CENT = D("0.01")
START_PRICES = {symbol: D(price) for symbol, _, _, price in UNIVERSE}


class RecordingSink:
    """Applies each trade update for real and keeps it for inspection."""

    def __init__(self) -> None:
        self.updates: list[TradeUpdate] = []

    def __call__(self, account_id: int, update: TradeUpdate) -> None:
        self.updates.append(update)
        trade_update_apply(account_id, update)

    @property
    def events(self) -> list[str]:
        return [u.event for u in self.updates]


def request(symbol: str = "AAPL", side: str = "buy", qty: str = "10", **kw: object) -> OrderRequest:
    limit = kw.get("limit_price")
    return OrderRequest(
        client_order_id=str(kw.get("client_order_id") or uuid.uuid4().hex),
        symbol=symbol,
        side=side,
        type="limit" if limit else "market",
        time_in_force="day",
        qty=D(qty),
        limit_price=D(str(limit)) if limit else None,
        buying_power_hold=kw.get("hold"),  # type: ignore[arg-type]
    )


def gateway(
    account: BrokerAccount, sink: RecordingSink, max_fill_qty: str = "1000"
) -> SimulatedGateway:
    return SimulatedGateway(account.pk, sink, max_fill_qty=D(max_fill_qty))


# --- the feed ----------------------------------------------------------------------------


def ticks(feed: RandomWalkFeed, steps: int) -> list[list[tuple[str, Decimal]]]:
    return [[(t.symbol, t.price) for t in feed.next_ticks()] for _ in range(steps)]


def test_feed_is_deterministic_for_a_seed():
    first = ticks(RandomWalkFeed(START_PRICES, seed=42), 200)
    second = ticks(RandomWalkFeed(START_PRICES, seed=42), 200)
    assert first == second
    assert sum(len(step) for step in first) > 200  # it does move
    assert ticks(RandomWalkFeed(START_PRICES, seed=43), 200) != first


def test_feed_order_of_start_prices_does_not_matter():
    reversed_prices = dict(reversed(list(START_PRICES.items())))
    assert ticks(RandomWalkFeed(reversed_prices, seed=7), 50) == ticks(
        RandomWalkFeed(START_PRICES, seed=7), 50
    )


def test_feed_prices_stay_positive_and_in_cents():
    feed = RandomWalkFeed({"A": D("0.02"), "B": D("5.00")}, seed=1, tick_volatility=2.0)
    for step in ticks(feed, 500):
        for _, price in step:
            assert price >= MIN_PRICE
            assert price == price.quantize(CENT)
    assert all(p >= MIN_PRICE for p in feed.prices.values())


def test_feed_reports_only_moves():
    feed = RandomWalkFeed(START_PRICES, seed=3)
    last = feed.prices
    for step in ticks(feed, 100):
        for symbol, price in step:
            assert price != last[symbol]
            last[symbol] = price
    assert last == feed.prices


def test_universe_is_seeded_as_instruments(db):
    symbols = [symbol for symbol, _, _, _ in UNIVERSE]
    assert 25 <= len(symbols) <= 35
    assert len(set(symbols)) == len(symbols)
    stored = {i.symbol: i for i in Instrument.objects.filter(symbol__in=symbols)}
    assert set(stored) == set(symbols)
    for symbol, name, exchange, price in UNIVERSE:
        instrument = stored[symbol]
        assert (instrument.name, instrument.exchange, instrument.tradable) == (name, exchange, True)
        assert instrument.price == instrument.prev_close == D(price)


def test_market_tick_applies_the_feed(account):
    set_price("AAPL", "200.00")
    gateway(account, RecordingSink()).submit_order(request(qty="1"))
    market = SimulatedMarket(feed_from_instruments(seed=5))
    assert market.feed.prices["AAPL"] == D("200.00")
    assert sum(market_tick(market) for _ in range(5)) > 0
    for symbol, price in market.feed.prices.items():
        assert Instrument.objects.get(symbol=symbol).price == price
    position = Position.objects.get(account=account, symbol="AAPL")
    assert position.current_price == market.feed.prices["AAPL"]


# --- the venue ---------------------------------------------------------------------------


def test_large_market_order_fills_in_partial_fills(account, settings, work_queue):
    settings.SIMULATED_MAX_FILL_QTY = "4"
    set_price("AAPL", "200.00")
    order = order_submit(account=account, symbol="AAPL", side="buy", qty=D("10"), type="market")
    work_queue()  # accepted, and 4 fill at once against the displayed liquidity
    order.refresh_from_db()
    assert (order.status, order.filled_qty) == (OrderStatus.PARTIALLY_FILLED, D("4"))

    sink = RecordingSink()
    assert match_symbol("AAPL", D("201.00"), sink, D("4")) == 1
    assert match_symbol("AAPL", D("199.00"), sink, D("4")) == 1
    assert match_symbol("AAPL", D("150.00"), sink, D("4")) == 0  # nothing left
    assert sink.events == ["partial_fill", "fill"]

    order.refresh_from_db()
    account.refresh_from_db()
    # (4 x 200 + 4 x 201 + 2 x 199) / 10 = (800 + 804 + 398) / 10 = 200.2
    assert (order.status, order.filled_qty, order.filled_avg_price) == (
        OrderStatus.FILLED,
        D("10"),
        D("200.2"),
    )
    assert list(
        Fill.objects.filter(order=order).order_by("executed_at").values_list("qty", "price")
    ) == [
        (D("4"), D("200")),
        (D("4"), D("201")),
        (D("2"), D("199")),
    ]
    position = Position.objects.get(account=account, symbol="AAPL")
    assert (position.qty, position.avg_entry_price) == (D("10"), D("200.2"))
    assert account.cash == D("97998.00")  # 100000 - 2002
    venue = SimulatedOrder.objects.get()
    assert (venue.status, venue.filled_qty, venue.executions) == (OrderStatus.FILLED, D("10"), 3)


def test_trade_updates_are_shaped_like_alpacas(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    venue = gateway(account, sink, max_fill_qty="3")
    accepted = venue.submit_order(request(qty="7", client_order_id="shape-1"))
    assert (accepted.status, accepted.client_order_id, accepted.filled_qty) == (
        OrderStatus.NEW,
        "shape-1",
        D("0"),
    )
    match_symbol("AAPL", D("200.50"), sink, D("3"))
    match_symbol("AAPL", D("200.50"), sink, D("3"))
    assert sink.events == ["new", "partial_fill", "partial_fill", "fill"]
    new, *fills = sink.updates
    assert (new.execution_id, new.qty, new.price, new.order.status) == (None, None, None, "new")
    broker_id = accepted.broker_order_id
    assert [u.execution_id for u in fills] == [f"{broker_id}-1", f"{broker_id}-2", f"{broker_id}-3"]
    assert [u.qty for u in fills] == [D("3"), D("3"), D("1")]
    assert [u.price for u in fills] == [D("200.00"), D("200.50"), D("200.50")]
    assert [u.position_qty for u in fills] == [D("3"), D("6"), D("7")]
    assert [u.order.filled_qty for u in fills] == [D("3"), D("6"), D("7")]
    assert [u.order.status for u in fills] == ["partially_filled", "partially_filled", "filled"]
    assert all(u.order.broker_order_id == broker_id for u in sink.updates)
    assert all(u.timestamp.tzinfo is not None for u in sink.updates)


def test_limit_buy_fills_only_at_or_below_its_limit(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    venue = gateway(account, sink)
    venue.submit_order(request(qty="5", limit_price="195.00"))
    assert sink.events == ["new"]
    assert match_symbol("AAPL", D("195.01"), sink, D("1000")) == 0
    assert match_symbol("AAPL", D("195.00"), sink, D("1000")) == 1
    assert sink.events == ["new", "fill"]
    assert sink.updates[-1].price == D("195.00")
    order = Order.objects.get()
    assert (order.status, order.filled_avg_price) == (OrderStatus.FILLED, D("195.00"))


def test_marketable_limit_fills_at_once_at_the_market(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    gateway(account, sink).submit_order(request(qty="5", limit_price="205.00"))
    assert sink.events == ["new", "fill"]
    assert sink.updates[-1].price == D("200.00")


def test_limit_sell_fills_only_at_or_above_its_limit(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    gateway(account, sink).submit_order(request(side="sell", qty="5", limit_price="210"))
    assert match_symbol("AAPL", D("209.99"), sink, D("1000")) == 0
    assert match_symbol("AAPL", D("210.50"), sink, D("1000")) == 1
    assert sink.updates[-1].position_qty == D("-5")


def test_orders_of_other_symbols_are_not_matched(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    gateway(account, sink).submit_order(request(qty="5", limit_price="150"))
    assert match_symbol("MSFT", D("1.00"), sink, D("1000")) == 0


def test_cancel_of_an_open_order(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    venue = gateway(account, sink)
    accepted = venue.submit_order(request(qty="5", limit_price="150"))
    venue.cancel_order(accepted.broker_order_id)
    assert sink.events == ["new", "canceled"]
    assert sink.updates[-1].order.status == OrderStatus.CANCELED
    assert Order.objects.get().status == OrderStatus.CANCELED
    # A canceled order no longer matches.
    assert match_symbol("AAPL", D("100"), sink, D("1000")) == 0


def test_cancel_of_a_filled_order_is_not_cancelable(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    venue = gateway(account, sink)
    accepted = venue.submit_order(request(qty="5"))
    with pytest.raises(BrokerNotCancelable):
        venue.cancel_order(accepted.broker_order_id)
    assert sink.events == ["new", "fill"]


def test_cancel_of_an_unknown_order_is_rejected(account, other_account):
    set_price("AAPL", "200.00")
    accepted = gateway(account, RecordingSink()).submit_order(request(limit_price="1"))
    with pytest.raises(BrokerRejected) as raised:
        gateway(other_account, RecordingSink()).cancel_order(accepted.broker_order_id)
    assert not isinstance(raised.value, BrokerNotCancelable)


def test_duplicate_client_order_id_answers_with_the_order_the_venue_holds(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    venue = gateway(account, sink)
    first = venue.submit_order(request(qty="1", client_order_id="once"))
    events, positions = len(sink.updates), venue.list_positions()

    again = venue.submit_order(request(qty="1", client_order_id="once"))

    # Placed once; the second answer is the venue's order as it stands (filled), like the
    # Alpaca gateway's answer to Alpaca's refusal of a duplicate client_order_id.
    assert again.broker_order_id == first.broker_order_id
    assert (again.status, again.filled_qty) == (OrderStatus.FILLED, D("1"))
    assert len(sink.updates) == events
    assert venue.list_positions() == positions  # its fill worked out, then rolled back
    assert SimulatedOrder.objects.count() == 1
    assert Fill.objects.count() == 1
    account.refresh_from_db()
    assert account.cash == D("99800.00")  # charged once


def test_untradable_symbol_is_rejected(account):
    Instrument.objects.filter(symbol="AAPL").update(tradable=False)
    with pytest.raises(BrokerRejected):
        gateway(account, RecordingSink()).submit_order(request())
    with pytest.raises(BrokerRejected):
        gateway(account, RecordingSink()).submit_order(request(symbol="NOPE"))
    assert not SimulatedOrder.objects.exists()


def test_venue_positions_and_order_lookup(account, other_account):
    set_price("AAPL", "200.00")
    set_price("TSLA", "250.00")
    venue = gateway(account, RecordingSink())
    venue.submit_order(request("TSLA", "sell", "3"))
    venue.submit_order(request("AAPL", "buy", "2", client_order_id="look-me-up"))
    venue.submit_order(request("AAPL", "buy", "1"))
    assert venue.list_positions() == [
        BrokerPosition("AAPL", D("3"), D("200.00")),
        BrokerPosition("TSLA", D("-3"), D("250.00")),
    ]
    assert gateway(other_account, RecordingSink()).list_positions() == []
    found = venue.get_order_by_client_id("look-me-up")
    assert found is not None and (found.status, found.filled_qty) == ("filled", D("2"))
    assert venue.get_order_by_client_id("never-sent") is None
    assert gateway(other_account, RecordingSink()).get_order_by_client_id("look-me-up") is None


def test_fills_stop_at_the_orders_hold_and_the_rest_is_canceled_with_the_reason(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    venue = gateway(account, sink, max_fill_qty="4")
    venue.submit_order(request(qty="10", hold=D("2060.00")))  # 10 at the 206.00 collar
    match_symbol("AAPL", D("205.00"), sink, D("4"))  # 800 + 820 spent, 440 held

    match_symbol("AAPL", D("230.00"), sink, D("4"))  # 2 x 230 would need 460

    assert sink.events == ["new", "partial_fill", "partial_fill", "partial_fill", "canceled"]
    assert sink.updates[-2].qty == D("1")  # 230.00 of the 440.00 left
    assert sink.updates[-1].reason == (
        "Canceled with 1 unfilled: at $230.00 they would cost more than the $210.00 "
        "of buying power the order still held."
    )
    venue_order = SimulatedOrder.objects.get()
    assert (venue_order.status, venue_order.filled_qty) == (OrderStatus.CANCELED, D("9"))
    assert venue_order.buying_power_used == D("1850.00")  # 800 + 820 + 230
    order = Order.objects.get()
    assert (order.status, order.reject_reason) == (OrderStatus.CANCELED, sink.updates[-1].reason)
    assert order.buying_power_used == D("1850.00")


def test_a_fill_that_closes_a_position_needs_no_hold(account):
    set_price("AAPL", "200.00")
    sink = RecordingSink()
    venue = gateway(account, sink)
    venue.submit_order(request(qty="10"))  # long 10, no cap

    venue.submit_order(request(side="sell", qty="10", hold=D("0.00")))

    assert sink.events == ["new", "fill", "new", "fill"]
    assert SimulatedOrder.objects.filter(status=OrderStatus.FILLED).count() == 2


def test_a_replayed_execution_inside_the_venues_booking_rolls_the_booking_back(account):
    # The booking skips the replay check (its execution ids are new); should one repeat
    # anyway, the unique execution_id refuses it and nothing of the order is booked.
    set_price("AAPL", "200.00")
    sink = RecordingSink()

    def twice(account_id: int, update: TradeUpdate) -> None:
        sink(account_id, update)
        if update.execution_id is not None:
            sink(account_id, update)

    with pytest.raises(IntegrityError):
        # A partial fill, so the repeat does not overfill the order first.
        SimulatedGateway(account.pk, twice, max_fill_qty=D("4")).submit_order(request(qty="10"))

    assert not SimulatedOrder.objects.exists()
    assert not Fill.objects.exists()
    account.refresh_from_db()
    assert account.cash == D("100000.00")
    # Outside a booking (a broker stream's replay) the repeat is ignored, as before.
    venue = gateway(account, sink)
    accepted = venue.submit_order(request(qty="1"))
    fill = next(u for u in sink.updates if u.order.broker_order_id == accepted.broker_order_id)
    while fill.execution_id is None:
        fill = sink.updates[sink.updates.index(fill) + 1]
    assert trade_update_apply(account.pk, fill) is False
    assert Fill.objects.count() == 1
