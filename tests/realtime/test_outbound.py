"""The outbox: frames in order, and a slow client found by queue length or unread bytes."""

import asyncio
import json

from realtime.outbound import Outbox


def frame(n: int) -> dict[str, object]:
    return {"type": "pong", "ts": "2026-01-01T00:00:00Z", "n": n}


class Transport:
    """A socket whose unread bytes grow with every frame until the client reads."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.unread = 0

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text).get("n", -1))
        self.unread += len(text)

    def backlog(self) -> int:
        return self.unread


async def test_frames_go_out_in_order_and_flush_waits_for_them() -> None:
    transport = Transport()
    outbox = Outbox(
        transport.send, max_messages=10, max_backlog_bytes=10**6, backlog=None, on_overflow=print
    )
    sender = asyncio.create_task(outbox.run())
    for n in range(5):
        outbox.put(frame(n))
    await outbox.flush(1.0)
    assert transport.sent == [0, 1, 2, 3, 4]
    sender.cancel()


async def test_unread_bytes_over_the_budget_halt_the_outbox_once() -> None:
    transport = Transport()
    overflows: list[str] = []
    outbox = Outbox(
        transport.send,
        max_messages=100,
        max_backlog_bytes=500,
        backlog=transport.backlog,
        on_overflow=overflows.append,
    )
    for n in range(50):
        outbox.put(frame(n))
    sender = asyncio.create_task(outbox.run())
    await outbox.flush(1.0)
    assert len(overflows) == 1 and "bytes unread" in overflows[0]
    assert outbox.halted
    sent = len(transport.sent)
    assert sent < 50  # what was still queued was dropped
    outbox.put(frame(100))  # ignored now
    outbox.put({"type": "error", "code": "slow_consumer", "message": "m"}, force=True)
    await outbox.flush(1.0)
    assert transport.sent[sent:] == [-1]  # only the closing error went out
    assert len(overflows) == 1
    sender.cancel()


async def test_a_full_queue_halts_the_outbox() -> None:
    overflows: list[str] = []

    async def stuck(text: str) -> None:
        await asyncio.sleep(3600)

    outbox = Outbox(
        stuck, max_messages=3, max_backlog_bytes=10**6, backlog=None, on_overflow=overflows.append
    )
    for n in range(5):
        outbox.put(frame(n))
    assert overflows == ["3 frames queued"]
    assert outbox.halted
