"""The outbox: frames in order, and a slow client found by queue length or unread bytes."""

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

from realtime.outbound import Outbox


def frame(n: int) -> dict[str, object]:
    return {"type": "pong", "ts": "2026-01-01T00:00:00Z", "n": n}


class Transport:
    """A socket whose unread bytes grow with every frame until the client reads."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.unread = 0
        self.open = True

    async def send(self, text: str) -> None:
        self.send_now(text)

    def send_now(self, text: str) -> bool:
        if not self.open:
            return False
        self.sent.append(json.loads(text).get("n", -1))
        self.unread += len(text)
        return True

    def backlog(self) -> int:
        return self.unread


class Spawner:
    """SocketTasks.spawn's part the outbox uses: the tasks it started, to count them."""

    def __init__(self) -> None:
        self.started: list[asyncio.Task[None]] = []

    def __call__(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.started.append(task)
        return task

    def running(self) -> int:
        return sum(not t.done() for t in self.started)


def outbox_for(transport: Transport, spawn: Spawner, **limits: Any) -> tuple[Outbox, list[str]]:
    overflows: list[str] = []
    options: dict[str, Any] = {"max_messages": 10, "max_backlog_bytes": 10**6, "backlog": None}
    options.update(limits)
    outbox = Outbox(transport.send, spawn=spawn, on_overflow=overflows.append, **options)
    return outbox, overflows


async def test_frames_go_out_in_order_and_flush_waits_for_them() -> None:
    transport, spawn = Transport(), Spawner()
    outbox, _ = outbox_for(transport, spawn)
    for n in range(5):
        outbox.put(frame(n))
    await outbox.flush(1.0)
    assert transport.sent == [0, 1, 2, 3, 4]


async def test_a_sender_task_runs_only_while_frames_are_queued() -> None:
    transport, spawn = Transport(), Spawner()
    outbox, _ = outbox_for(transport, spawn)
    assert spawn.running() == 0
    outbox.put(frame(0))
    outbox.put(frame(1))
    assert len(spawn.started) == 1  # one sender for the burst
    await outbox.flush(1.0)
    await asyncio.sleep(0)
    assert spawn.running() == 0
    outbox.put(frame(2))
    await outbox.flush(1.0)
    assert transport.sent == [0, 1, 2] and len(spawn.started) == 2


async def test_with_a_synchronous_send_frames_go_out_at_once_without_a_task() -> None:
    transport, spawn = Transport(), Spawner()
    outbox, _ = outbox_for(transport, spawn)
    outbox._send_now = transport.send_now
    for n in range(3):
        outbox.put(frame(n))
    assert transport.sent == [0, 1, 2]  # before any await
    assert spawn.started == []
    transport.open = False
    outbox.put(frame(3))  # the connection is gone: dropped, no error
    assert transport.sent == [0, 1, 2]


async def test_unread_bytes_over_the_budget_halt_the_outbox_once() -> None:
    for synchronous in (False, True):
        transport, spawn = Transport(), Spawner()
        outbox, overflows = outbox_for(
            transport, spawn, max_messages=100, max_backlog_bytes=500, backlog=transport.backlog
        )
        if synchronous:
            outbox._send_now = transport.send_now
        for n in range(50):
            outbox.put(frame(n))
        await outbox.flush(1.0)
        assert len(overflows) == 1 and "bytes unread" in overflows[0]
        assert outbox.halted
        sent = len(transport.sent)
        assert sent < 50  # what was still queued (or came after) was dropped
        outbox.put(frame(100))  # ignored now
        outbox.put({"type": "error", "code": "slow_consumer", "message": "m"}, force=True)
        await outbox.flush(1.0)
        assert transport.sent[sent:] == [-1]  # only the closing error went out
        assert len(overflows) == 1


async def test_a_full_queue_halts_the_outbox() -> None:
    async def stuck(text: str) -> None:
        await asyncio.sleep(3600)

    spawn = Spawner()
    overflows: list[str] = []
    outbox = Outbox(
        stuck,
        spawn=spawn,
        max_messages=3,
        max_backlog_bytes=10**6,
        backlog=None,
        on_overflow=overflows.append,
    )
    for n in range(5):
        outbox.put(frame(n))
    assert overflows == ["3 frames queued"]
    assert outbox.halted
    for task in spawn.started:
        task.cancel()
