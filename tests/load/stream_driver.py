"""The tick driver of bench_stream (its own process): price ticks from the db, the market's
way (every symbol each tick, one prices_apply), or synthetic."""

import argparse
import json
import random
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.load import harness

MODES = ("coalesced", "uncoalesced", "unbatched")
SOURCES = ("db", "market", "synthetic")


def _install_mode(mode: str) -> None:
    """Make this process's publisher send price-caused events the `mode` way."""
    from realtime.publisher import Publisher, publisher

    if mode == "coalesced":
        return

    def accept(user_id: int, event: Any, coalesce: bool) -> None:
        if coalesce and mode == "uncoalesced":
            # One message per event, as non-urgent as a coalesced one would have been.
            Publisher._flush(publisher, (user_id, event.channel))
            publisher._send_event(user_id, event, urgent=False)
        else:
            Publisher._accept(publisher, user_id, event, False)

    publisher._accept = accept  # type: ignore[method-assign]


def _publisher_drained(timeout: float) -> tuple[float, int]:
    """Flush the source buffers and wait until the sender has handed everything to Redis.

    Returns the seconds it took and how many messages were still queued at `timeout`
    (those die with this process: lost, as they would be in a crashed publisher).
    """
    from realtime.publisher import publisher

    started = time.monotonic()
    publisher.flush()
    left = 0
    while True:
        queue = publisher._queue
        left = 0 if queue is None else queue.qsize()
        if left == 0 or time.monotonic() - started > timeout:
            break
        time.sleep(0.02)
    time.sleep(0.2)  # the last group_send in flight
    return time.monotonic() - started, left


class PriceWalk:
    def __init__(self, prices: dict[str, Decimal], seed: int) -> None:
        self.prices = dict(prices)
        self.random = random.Random(seed)

    def next(self, symbol: str) -> Decimal:
        old = self.prices[symbol]
        step = Decimal(str(round(self.random.uniform(-0.002, 0.002), 5)))
        new = (old * (1 + step)).quantize(Decimal("0.01"))
        if new == old:
            new += Decimal("0.01")
        self.prices[symbol] = new
        return new


def drive(options: argparse.Namespace) -> None:
    harness.setup_django(
        db_path=Path(options.db),
        redis_url=options.redis_url,
        prefix=options.prefix,
        database_url=options.database_url or None,
    )
    from django.utils import timezone

    from realtime import stats
    from realtime.publisher import publisher
    from trading import signals
    from trading.models import Instrument

    symbols = options.symbols.split(",")
    instruments = Instrument.objects.filter(symbol__in=symbols)
    walk = PriceWalk({i.symbol: i.price or Decimal(100) for i in instruments}, seed=options.seed)
    prev_close = {i.symbol: i.prev_close for i in instruments}
    _install_mode(options.mode)
    produced = {"position_update": 0, "account_update": 0}

    def count_marks(*, marked: list[Any], **_: Any) -> None:
        # Price marks send one prices_marked per committed batch (trading.signals).
        produced["position_update"] += sum(len(m.positions) for m in marked)
        produced["account_update"] += sum(m.account_seq is not None for m in marked)

    signals.prices_marked.connect(count_marks, weak=False)
    synthetic = SyntheticSource(symbols) if options.source == "synthetic" else None
    publisher._ensure_loop()  # start the sender before the clock starts

    from trading.services.prices import price_apply, prices_apply

    tick_seconds: list[float] = []
    marks = 0
    late = 0
    cpu_started = time.process_time()
    t_start = time.time()
    clock = time.monotonic()
    deadline = clock + options.seconds
    index = 0
    while True:
        due = clock + index / options.rate
        now = time.monotonic()
        if due >= deadline or now >= deadline:
            break
        if due > now:
            time.sleep(due - now)
        elif now - due > 1.0:
            late += 1
        symbol = symbols[index % len(symbols)]
        began = time.monotonic()
        if options.source == "market":
            # The market loop's tick: every symbol moves, one prices_apply for all of them.
            at = timezone.now()
            marks += prices_apply(prices={s: (walk.next(s), at) for s in symbols})
        elif synthetic is not None:
            price = walk.next(symbol)
            marks += synthetic.tick(symbol, price, prev_close[symbol], timezone.now(), produced)
        else:
            marks += price_apply(symbol=symbol, price=walk.next(symbol), at=timezone.now())
        tick_seconds.append(time.monotonic() - began)
        index += 1
    t_end = time.time()
    elapsed = time.monotonic() - clock
    drain_seconds, undelivered = _publisher_drained(timeout=options.drain_timeout)
    if synthetic is not None:
        synthetic.store_seqs()
    counters = stats.stats_snapshot()
    events = sum(produced.values())
    result = {
        "source": options.source,
        "mode": options.mode,
        "target_ticks_per_s": options.rate,
        "t_start": t_start,
        "t_end": t_end,
        "ticks": index,
        "achieved_ticks_per_s": round(index / elapsed, 2),
        "late_ticks_over_1s": late,
        "holder_marks": marks,
        "holder_marks_per_s": round(marks / elapsed, 1),
        "tick_apply_ms": harness.percentiles(tick_seconds),
        "domain_events": produced,
        "domain_events_per_s": round(events / elapsed, 1),
        "layer_messages": int(counters["published"]),
        "layer_messages_per_s": round(counters["published"] / elapsed, 1),
        "coalesced_away": int(counters["coalesced"]),
        "publish_failures": int(counters["publish_failures"]),
        "events_per_layer_message": round(events / max(1.0, counters["published"]), 2),
        "publisher_drain_s": round(drain_seconds, 2),
        "publisher_queue_left_at_exit": undelivered,
        "driver_cpu_s": round(time.process_time() - cpu_started, 2),
        "driver_cpu_pct_of_one_core": round(
            100 * (time.process_time() - cpu_started) / (elapsed + drain_seconds), 1
        ),
    }
    Path(options.out).write_text(json.dumps(result, indent=2))


class SyntheticSource:
    """Price-caused events for every holder of a symbol, built and published the way
    realtime.receivers does after price_apply commits, minus the database write."""

    def __init__(self, symbols: list[str]) -> None:
        from trading.models import BrokerAccount, Position

        self.accounts = BrokerAccount.objects.select_related("user").in_bulk()
        self.holders: dict[str, list[Any]] = {s: [] for s in symbols}
        for position in Position.objects.filter(symbol__in=symbols).order_by("account_id"):
            position.account = self.accounts[position.account_id]
            self.holders[position.symbol].append(position)

    def tick(
        self,
        symbol: str,
        price: Decimal,
        prev_close: Decimal | None,
        at: datetime,
        produced: dict[str, int],
    ) -> int:
        from realtime.events.encoded import encode_account_update, encode_position_update
        from realtime.publisher import publisher
        from trading.services.positions import position_mark

        events = []
        for position in self.holders[symbol]:
            account = position.account
            position_mark(position, price, prev_close)
            account.positions_seq += 1
            event = encode_position_update(position, seq=account.positions_seq, ts=at)
            events.append((account.user_id, event))
            account.account_seq += 1
            update = encode_account_update(account, seq=account.account_seq, ts=at)
            events.append((account.user_id, update))
        publisher.publish_many(events, coalesce=True)
        produced["position_update"] += len(self.holders[symbol])
        produced["account_update"] += len(self.holders[symbol])
        return len(self.holders[symbol])

    def store_seqs(self) -> None:
        from django.db import transaction

        from trading.models import BrokerAccount

        with transaction.atomic():
            for account in self.accounts.values():
                BrokerAccount.objects.filter(pk=account.pk).update(
                    positions_seq=account.positions_seq, account_seq=account.account_seq
                )
