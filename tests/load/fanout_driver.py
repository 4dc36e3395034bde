"""The publisher process of bench_fanout: order_update events round robin over users at a rate.

    python -m tests.load.fanout_driver --kind product|product-uvicorn|socketio|websockets \
        --rate R --seconds S --users users.json --template event.json --redis-url U --prefix X \
        [--db bench.sqlite3] --out O

Every kind has the same shape: one asyncio loop paces the events (each stamped with the
time it is handed over, its `ts`) and hands each to one ordered sender on the same loop,
which publishes it to Redis as its stack does:

- `product`: `realtime.publisher.publisher.publish(user_id, event, coalesce=False)` (urgent,
  unbatched), the event built by `create_order_update_event` from the user's order with
  the seq continuing the database's (stored back at the end, so the next run's events
  follow on without a gap); the publisher's own sender does the group_send.
  `product-uvicorn` is the same publisher (on that server's prefix).
- `socketio`: `AsyncRedisManager(write_only=True).emit("order_update", event, room=...)`.
- `websockets`: PUBLISH of the event's JSON text on the user's channel.

Events of the peers are the product's template event (one real order_update, written by
bench_fanout) with this event's seq and ts.
"""

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.load import harness
from tests.load.fanout_peers import socketio_channel, socketio_room, user_channel

KINDS = ("product", "product-uvicorn", "socketio", "websockets")
PRODUCT_KINDS = ("product", "product-uvicorn")
DRAIN_POLL_SECONDS = 0.01


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class PeerSink:
    """A peer's publisher: an ordered queue drained by one sender task, as the product's is."""

    def __init__(self, publish: Callable[[int, dict[str, Any]], Awaitable[Any]]) -> None:
        self.publish = publish
        self.queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
        self.published = 0
        self.failures = 0
        self.sender = asyncio.create_task(self._send_forever())

    def send(self, user_id: int, event: dict[str, Any]) -> None:
        self.queue.put_nowait((user_id, event))

    async def _send_forever(self) -> None:
        while True:
            user_id, event = await self.queue.get()
            try:
                await self.publish(user_id, event)
                self.published += 1
            except Exception:
                self.failures += 1

    def counts(self) -> tuple[int, int]:
        return self.published, self.failures


async def peer_sink(kind: str, options: argparse.Namespace) -> PeerSink:
    if kind == "socketio":
        import socketio  # type: ignore[import-untyped]

        manager = socketio.AsyncRedisManager(
            options.redis_url, channel=socketio_channel(options.prefix), write_only=True
        )

        async def emit(user_id: int, event: dict[str, Any]) -> None:
            await manager.emit("order_update", event, room=socketio_room(user_id), namespace="/")

        return PeerSink(emit)
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(options.redis_url)

    async def publish(user_id: int, event: dict[str, Any]) -> None:
        await client.publish(user_channel(options.prefix, user_id), json.dumps(event))

    return PeerSink(publish)


class ProductSink:
    """The product's publisher, bound to this loop, fed real order_update events."""

    def __init__(self, options: argparse.Namespace, user_ids: list[int]) -> None:
        harness.setup_django(
            db_path=Path(options.db), redis_url=options.redis_url, prefix=options.prefix
        )
        from django.utils import timezone

        from realtime.events import create_order_update_event
        from realtime.publisher import publisher
        from trading.models import BrokerAccount, Order

        self.publisher = publisher
        self.now = timezone.now
        self.build = create_order_update_event
        self.accounts = {a.user_id: a for a in BrokerAccount.objects.filter(user_id__in=user_ids)}
        self.orders: dict[int, Any] = {}
        for order in Order.objects.filter(account__user_id__in=user_ids).select_related("account"):
            self.orders.setdefault(order.account.user_id, order)

    def attach(self) -> None:
        """Publish on the running loop, as a server process's publisher does."""
        self.publisher.bind_loop(asyncio.get_running_loop())

    def send(self, user_id: int, template: dict[str, Any]) -> None:
        account = self.accounts[user_id]
        account.orders_seq += 1
        event = self.build(self.orders[user_id], seq=account.orders_seq, ts=self.now())
        self.publisher.publish(user_id, event, coalesce=False)

    def counts(self) -> tuple[int, int]:
        from realtime import stats

        counters = stats.stats_snapshot()
        return int(counters["published"]), int(counters["publish_failures"])

    def store_seqs(self) -> None:
        from trading.models import BrokerAccount

        for account in self.accounts.values():
            BrokerAccount.objects.filter(pk=account.pk).update(orders_seq=account.orders_seq)


async def drive(
    options: argparse.Namespace,
    users: list[int],
    template: dict[str, Any],
    product: ProductSink | None,
) -> dict[str, Any]:
    sink: ProductSink | PeerSink
    if product is not None:
        product.attach()
        sink = product
    else:
        sink = await peer_sink(options.kind, options)
    total = int(options.rate * options.seconds)
    seqs = dict.fromkeys(users, 0)
    behind_max = 0.0
    cpu_started = time.process_time()
    t_start = time.time()
    clock = time.monotonic()
    index = 0
    while index < total:
        now = time.monotonic()
        behind_max = max(behind_max, now - (clock + index / options.rate))
        due = min(total, int((now - clock) * options.rate) + 1)
        while index < due:
            user = users[index % len(users)]
            if isinstance(sink, ProductSink):
                sink.send(user, template)
            else:
                seqs[user] += 1
                sink.send(user, {**template, "seq": seqs[user], "ts": now_iso()})
            index += 1
        # Let the sender run; wake for the next event's due time.
        await asyncio.sleep(max(0.0, clock + index / options.rate - time.monotonic()))
    t_end = time.time()
    paced = time.monotonic() - clock
    handed_in_window = sink.counts()[0]
    # What is still queued after the window goes out now (bounded: a stuck sender stops it).
    for _ in range(int(options.drain_timeout / DRAIN_POLL_SECONDS)):
        if sum(sink.counts()) >= total:
            break
        await asyncio.sleep(DRAIN_POLL_SECONDS)
    drained = time.monotonic() - clock - paced
    published, failures = sink.counts()
    if isinstance(sink, ProductSink):
        await asyncio.to_thread(sink.store_seqs)
    cpu = time.process_time() - cpu_started
    return {
        "kind": options.kind,
        "offered_per_s": options.rate,
        "t_start": t_start,
        "t_end": t_end,
        "events": total,
        "achieved_per_s": round(total / paced, 1),
        "pacing_behind_max_ms": round(behind_max * 1000, 1),
        "published_to_redis": published,
        "publish_failures": failures,
        "published_in_window": handed_in_window,
        "published_per_s_in_window": round(handed_in_window / paced, 1),
        "drain_s": round(drained, 2),
        "driver_cpu_s": round(cpu, 2),
        "driver_cpu_pct_of_one_core": round(100 * cpu / (paced + drained), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.fanout_driver")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--rate", type=float, required=True, help="events/s offered")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--users", required=True, help="JSON: [{user_id, ...}]")
    parser.add_argument("--template", required=True, help="JSON: one order_update event")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--db", help="the product's SQLite file (kind product)")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--out", required=True)
    options = parser.parse_args()
    users = [u["user_id"] for u in json.loads(Path(options.users).read_text())]
    # The ORM is synchronous: the product's rows are read before the loop starts.
    product = ProductSink(options, users) if options.kind in PRODUCT_KINDS else None
    template = json.loads(Path(options.template).read_text())
    result = asyncio.run(drive(options, users, template, product))
    Path(options.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
