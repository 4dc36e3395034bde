"""A socket's lean input queue behaves as asyncio.Queue does for daphne's two calls."""

import asyncio
import sys

import pytest

from realtime.input_queue import InputQueue


async def test_items_come_out_in_order_queued_before_or_while_waiting() -> None:
    queue = InputQueue()
    queue.put_nowait("connect")
    queue.put_nowait("frame 1")
    assert queue.qsize() == 2
    assert await queue.get() == "connect"
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert waiting.done()  # "frame 1" was still queued
    assert waiting.result() == "frame 1"

    later = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not later.done()
    queue.put_nowait("frame 2")
    queue.put_nowait("disconnect")
    assert await later == "frame 2"
    assert await queue.get() == "disconnect"
    assert queue.empty()


async def test_a_getter_cancelled_after_the_wake_up_loses_nothing() -> None:
    queue = InputQueue()
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("frame")
    getter.cancel()  # woken, but cancelled before it ran
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert queue.qsize() == 1
    assert await queue.get() == "frame"


async def test_a_second_reader_is_refused() -> None:
    queue = InputQueue()
    first = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one reader"):
        await queue.get()
    queue.put_nowait("frame")
    assert await first == "frame"


def test_it_is_a_fraction_of_asyncio_queue() -> None:
    lean = InputQueue()
    lean.put_nowait("x")
    stock: asyncio.Queue[str] = asyncio.Queue()
    stock.put_nowait("x")
    # asyncio.Queue's private parts: its items, getters and putters, and its Event's waiters.
    parts: list[object] = [getattr(stock, name) for name in ("_queue", "_getters", "_putters")]
    parts.append(getattr(stock, "_finished")._waiters)  # noqa: B009 - private, on purpose
    stock_size = sys.getsizeof(stock.__dict__) + sum(sys.getsizeof(part) for part in parts)
    lean_size = sys.getsizeof(lean) + sys.getsizeof(lean._items)
    assert lean_size * 5 < stock_size, (lean_size, stock_size)
