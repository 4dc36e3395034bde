"""Throttle windows end a window after the last frame on the send clock or the change clock."""

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from realtime.position_throttle import PositionThrottle
from realtime.publisher import Publisher
from realtime.throttle_window import LastFrame, window_wait
from realtime.wire import WireFrame
from tests.realtime.test_coalescing_and_limits import position

WINDOW = 0.5
T0 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def test_a_channel_that_never_sent_may_send_at_once() -> None:
    assert window_wait(None, now=10.0, changed_at=100.0, window=WINDOW) == 0.0


def test_a_change_inside_the_window_waits_for_whichever_clock_ends_it_first() -> None:
    last = LastFrame(sent_at=10.0, changed_at=100.0)
    # Sent 0.2 s ago; the change is 0.1 s newer than the last frame's: 0.3 s on the send clock.
    assert window_wait(last, now=10.2, changed_at=100.1, window=WINDOW) == pytest.approx(0.3)
    # Sent 0.1 s ago; the change is 0.3 s newer: 0.2 s on the change clock.
    assert window_wait(last, now=10.1, changed_at=100.3, window=WINDOW) == pytest.approx(0.2)


def test_a_change_a_window_newer_than_the_last_frame_leaves_even_if_that_frame_left_late() -> None:
    # The last frame's change happened at 100.0 but it left 0.4 s late (a slow tick).
    last = LastFrame(sent_at=10.4, changed_at=100.0)
    assert window_wait(last, now=10.45, changed_at=100.0 + WINDOW, window=WINDOW) <= 0.0


def frame(seq: int, changed_at: float) -> WireFrame:
    return replace(WireFrame.of(position("AAPL", seq, "100")), changed_at=changed_at)


def recording_throttle(sent: list[tuple[float, int]]) -> PositionThrottle:
    """A throttle on the running loop that records when each frame left, and its seq."""
    loop = asyncio.get_running_loop()

    def later(delay: float, call: Callable[..., None], *args: Any) -> None:
        loop.call_later(delay, call, *args)

    return PositionThrottle(WINDOW, lambda f: sent.append((loop.time(), f.seq)), later)


async def test_the_position_throttle_does_not_carry_one_late_frame_into_the_next() -> None:
    loop = asyncio.get_running_loop()
    sent: list[tuple[float, int]] = []
    throttle = recording_throttle(sent)
    start = loop.time()
    # The first tick's frame arrives late; the next tick's, made a window later, right after.
    throttle.add([frame(1, 100.0)], urgent=False)
    throttle.add([frame(2, 100.0 + WINDOW)], urgent=False)
    await asyncio.sleep(0)
    assert [seq for _, seq in sent] == [1, 2]
    assert sent[1][0] - start < WINDOW / 2


async def test_the_position_throttle_still_holds_changes_made_within_the_window() -> None:
    sent: list[tuple[float, int]] = []
    throttle = recording_throttle(sent)
    throttle.add([frame(1, 100.0)], urgent=False)
    throttle.add([frame(2, 100.1)], urgent=False)
    await asyncio.sleep(WINDOW / 2)
    assert [seq for _, seq in sent] == [1]
    await asyncio.sleep(WINDOW)
    assert [seq for _, seq in sent] == [1, 2]
    # The second change is 0.1 s newer: it left when the change clock closed the window.
    assert sent[1][0] - sent[0][0] >= WINDOW - 0.1 - 0.01


async def publish_two_ticks(second_change_after: float) -> list[float]:
    """Two coalescable changes of one channel, accepted back to back; when each left."""
    loop = asyncio.get_running_loop()
    publisher = Publisher(coalesce_window_seconds=WINDOW)
    sent_at: list[float] = []

    def enqueue(group: str, message: dict[str, Any]) -> None:
        sent_at.append(loop.time())

    publisher._enqueue = enqueue  # type: ignore[method-assign]
    first = position("AAPL", 1, "100").model_copy(update={"ts": T0})
    second = position("AAPL", 2, "101").model_copy(
        update={"ts": T0 + timedelta(seconds=second_change_after)}
    )
    start = loop.time()
    publisher._accept(7, first, coalesce=True)
    await asyncio.sleep(0.01)
    publisher._accept(7, second, coalesce=True)
    await asyncio.sleep(WINDOW * 1.5)
    return [t - start for t in sent_at]


async def test_the_publisher_sends_a_change_a_window_newer_than_the_last_frame_at_once() -> None:
    first, second = await publish_two_ticks(second_change_after=WINDOW)
    assert second - first < WINDOW / 2


async def test_the_publisher_holds_a_change_made_within_the_window_until_its_end() -> None:
    first, second = await publish_two_ticks(second_change_after=0.1)
    # Accepted 0.01 s after the first left, 0.1 s newer: it waited 0.4 s, not 0.
    assert second - first >= WINDOW - 0.1 - 0.01
