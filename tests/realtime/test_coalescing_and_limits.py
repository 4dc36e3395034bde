"""Latest-value coalescing keeps seq ranges; the frame rate limiter warns, drops and closes."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from realtime.coalescing import CoalescingBuffer, event_key
from realtime.events import AccountUpdate, BatchUpdate, OrderUpdate, PositionUpdate
from realtime.events.schemas import AccountData, PositionData
from realtime.limits import FrameRateLimiter, Verdict

TS = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
D = Decimal


def position(symbol: str, seq: int, price: str) -> PositionUpdate:
    data = PositionData(
        symbol=symbol,
        qty=D("1"),
        side="long",
        avg_entry_price=D("1"),
        current_price=D(price),
        lastday_price=D("1"),
        market_value=D(price),
        cost_basis=D("1"),
        unrealized_pl=D("0"),
        unrealized_plpc=D("0"),
        unrealized_intraday_pl=D("0"),
        unrealized_intraday_plpc=D("0"),
        change_today=D("0"),
    )
    return PositionUpdate(seq=seq, ts=TS, data=data)


def account(seq: int, equity: str) -> AccountUpdate:
    money = {k: D(equity) for k in ("cash", "equity", "last_equity", "buying_power")}
    data = AccountData(
        **money,
        long_market_value=D("0"),
        short_market_value=D("0"),
        day_pl=D("0"),
        day_pl_pct=D("0"),
        realized_pl=D("0"),
        realized_pl_today=D("0"),
    )
    return AccountUpdate(seq=seq, ts=TS, data=data)


def test_single_event_drains_as_itself() -> None:
    buffer = CoalescingBuffer()
    buffer.add(position("AAPL", 7, "10"))
    assert buffer.drain() == position("AAPL", 7, "10")
    assert not buffer


def test_latest_per_symbol_wins_and_the_batch_covers_every_seq() -> None:
    buffer = CoalescingBuffer()
    for seq, (symbol, price) in enumerate([("AAPL", "10"), ("MSFT", "20"), ("AAPL", "11")], 4):
        buffer.add(position(symbol, seq, price))
    frame = buffer.drain()
    assert isinstance(frame, BatchUpdate)
    assert (frame.from_seq, frame.seq) == (4, 6)
    assert [(e.data.symbol, e.seq) for e in frame.events] == [("MSFT", 5), ("AAPL", 6)]


def test_superseded_single_key_still_reports_its_range() -> None:
    buffer = CoalescingBuffer()
    buffer.add(account(2, "100"))
    buffer.add(account(3, "101"))
    frame = buffer.drain()
    assert isinstance(frame, BatchUpdate)
    assert (frame.from_seq, frame.seq, len(frame.events)) == (2, 3, 1)


def test_folding_a_batch_keeps_its_lower_bound() -> None:
    incoming = BatchUpdate(
        channel="positions", from_seq=3, seq=5, ts=TS, events=[position("A", 5, "1")]
    )
    buffer = CoalescingBuffer()
    buffer.add_batch(incoming)
    buffer.add(position("B", 6, "2"))
    frame = buffer.drain()
    assert isinstance(frame, BatchUpdate)
    assert (frame.from_seq, frame.seq) == (3, 6)


def test_order_events_are_never_coalesced() -> None:
    with pytest.raises(ValueError, match="must not be coalesced"):
        event_key(OrderUpdate.model_construct(type="order_update", seq=1))


def test_rate_limiter_warns_drops_then_closes_after_three_bad_seconds() -> None:
    limiter = FrameRateLimiter(max_frames_per_second=20, strikes_before_close=3)
    verdicts = [limiter.check(0.0 + i / 100) for i in range(22)]
    assert verdicts[:20] == [Verdict.OK] * 20
    assert verdicts[20:] == [Verdict.WARN, Verdict.DROP]
    for second in (1.0, 2.0):
        results = {limiter.check(second + i / 100) for i in range(22)}
        expected = Verdict.WARN if second == 1.0 else Verdict.CLOSE
        assert expected in results


def test_rate_limiter_forgives_after_a_calm_second() -> None:
    limiter = FrameRateLimiter(max_frames_per_second=5, strikes_before_close=2)
    [limiter.check(0.0) for _ in range(7)]
    assert limiter.check(1.0) is Verdict.OK  # a calm window resets the strikes
    [limiter.check(2.0) for _ in range(5)]
    assert limiter.check(2.5) is Verdict.WARN
