"""The Redis PubSub channel layer, hardened: undecodable messages and closed sockets.

- One undecodable message is logged and dropped instead of killing the consumer.
- Redis lost: every consumer of the process gets a `portfolio.layer_failed` message (and
  closes with 1013), once per outage. channels-redis only logs the failure every second
  and retries, so sockets stayed open without events, their heartbeats saying all is well.
- `attach_consumer(layer, channel, callback)`: a consumer's messages are handed to it as
  they arrive, from the shard's receive loop, instead of through an `asyncio.Queue` per
  channel (three deques, about 2.3 KiB per socket) and the consumer's reader task: one
  wake-up less per message and per socket (tests/load/bench_memory.py, bench_fanout.py).
- `release(channel, groups)`: a closed consumer leaves its groups and its own channel at
  once, synchronously, so nothing more is queued for it, even when it was cancelled. The
  Redis UNSUBSCRIBEs follow in the background, many sockets' in one command, and never for
  a name that is in use again by then (a reconnect of the same user). channels-redis itself
  unsubscribes a consumer's channel only when its receive() sees CancelledError, which a
  consumer that stops with a message in hand never does (channels_redis#276), and its
  group_discard can unsubscribe a group another socket has just joined. An UNSUBSCRIBE
  that fails (Redis down) is retried: redis-py subscribes everything again on reconnect.

Built on channels-redis 4.3's PubSub internals (`RedisPubSubLoopLayer`, the shard's lock
and `_subscribed_to`): requirements.txt pins it, and tests/realtime check the behaviour.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close

from realtime import stats
from realtime.conf import UNSUBSCRIBE_BATCH_DELAY_SECONDS, UNSUBSCRIBE_TIMEOUT_SECONDS
from realtime.mailbox import Mailbox

logger = logging.getLogger(__name__)

UNDECODABLE_MESSAGE_TYPE = "portfolio.undecodable"
LAYER_FAILED_MESSAGE_TYPE = "portfolio.layer_failed"
# Retries of a failed UNSUBSCRIBE back off up to this.
MAX_UNSUBSCRIBE_RETRY_SECONDS = 30.0

# Background cleanups (other layers' group_discards, Redis unsubscribes) still running:
# referenced here so that none is garbage-collected half-way.
_cleanups: set[asyncio.Task[None]] = set()


class ResilientRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    def deserialize(self, message: bytes) -> dict[str, Any]:
        try:
            result: dict[str, Any] = super().deserialize(message)
        except Exception:
            # Without this the consumer's dispatch loop dies and the socket closes with 1011.
            logger.exception(
                "dropped an undecodable channel-layer message (%d bytes)", len(message)
            )
            stats.record_error("undecodable_message")
            return {"type": UNDECODABLE_MESSAGE_TYPE}
        return result

    def _get_layer(self) -> "ReleasingLoopLayer":
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = ReleasingLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer  # type: ignore[no-any-return]


class _Shard(RedisSingleShardConnection):
    failing = False

    async def _do_receiving(self) -> None:
        # channels-redis 4.3's loop, plus telling the layer once when Redis is lost.
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    self._receive_message(message)
                    self.failing = False
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except BaseException as error:
                if not self.failing:
                    self.failing = True
                    logger.warning("channel layer lost Redis: %r", error)
                    self.channel_layer.redis_lost()
                await asyncio.sleep(1)

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
        """PUBLISH each (channel, payload) in order, in one round trip (a pipeline)."""
        async with self._lock:
            self._ensure_redis()
            pipeline = self._redis.pipeline(transaction=False)
            for channel, payload in messages:
                pipeline.publish(channel, payload)
            await pipeline.execute()

    async def unsubscribe_unused(self, names: Iterable[str], in_use: Callable[[str], bool]) -> int:
        """UNSUBSCRIBE, in one command, those of `names` nobody in this process uses now."""
        async with self._lock:
            # Decided under the lock that subscribe() takes too: a group_add that got in
            # first is seen here, and one that comes later subscribes again.
            stale = [n for n in names if n in self._subscribed_to and not in_use(n)]
            if not stale:
                return 0
            self._ensure_redis()
            self._ensure_receiver()
            await self._pubsub.unsubscribe(*stale)
            self._subscribed_to.difference_update(stale)
            return len(stale)


class ReleasingLoopLayer(RedisPubSubLoopLayer):
    """The per-event-loop layer with `release()` and a group_discard that cannot race."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards: list[_Shard] = [_Shard(shard.host, self) for shard in self._shards]
        self._unused: set[str] = set()
        self._unsubscriber: asyncio.Task[None] | None = None

    async def _subscribe_to_channel(self, channel: str) -> None:
        # channels-redis 4.3's, with a Mailbox for its asyncio.Queue.
        self.channels[channel] = Mailbox()
        await self._get_shard(channel).subscribe(channel)

    def attach(self, channel: str, callback: Callable[[dict[str, Any]], None]) -> bool:
        """Hand `channel`'s messages to `callback` as they arrive (decoded), instead of
        keeping them for receive(); False when the channel is not this process's."""
        mailbox = self.channels.get(channel)
        if not isinstance(mailbox, Mailbox):
            return False
        deserialize = self.channel_layer.deserialize
        mailbox.deliver = lambda data: callback(deserialize(data))
        while mailbox.qsize():  # anything that came before, in order
            callback(deserialize(mailbox._items.popleft()))  # type: ignore[union-attr]
        return True

    def in_use(self, name: str) -> bool:
        return name in self.channels or name in self.groups

    async def new_channel(self, prefix: str = "specific.") -> str:
        before = set(self.channels)
        try:
            channel: str = await super().new_channel(prefix)
        except BaseException:
            # The queue was created before the SUBSCRIBE failed (Redis down): drop it.
            for name in set(self.channels) - before:
                del self.channels[name]
            raise
        return channel

    async def group_discard(self, group: str, channel: str) -> None:
        group_channel = self._get_group_channel_name(group)
        members = self.groups.get(group_channel)
        if members is None or channel not in members:
            return
        members.discard(channel)
        if not members:
            del self.groups[group_channel]
            await self._get_shard(group_channel).unsubscribe_unused([group_channel], self.in_use)

    async def group_send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """group_send of each (group, message), in order, one pipeline per shard."""
        by_shard: dict[_Shard, list[tuple[str, bytes]]] = {}
        for group, message in messages:
            group_channel = self._get_group_channel_name(group)
            payload = self.channel_layer.serialize(message)
            by_shard.setdefault(self._get_shard(group_channel), []).append((group_channel, payload))
        await asyncio.gather(*(shard.publish_many(batch) for shard, batch in by_shard.items()))

    def release(self, channel: str, groups: Iterable[str]) -> None:
        """Forget a closed consumer now; UNSUBSCRIBE what nobody uses any more, soon."""
        if self.channels.pop(channel, None) is not None:
            self._unused.add(channel)
        for group in groups:
            group_channel = self._get_group_channel_name(group)
            members = self.groups.get(group_channel)
            if members is None:
                continue
            members.discard(channel)
            if not members:
                del self.groups[group_channel]
                self._unused.add(group_channel)
        if self._unused and (self._unsubscriber is None or self._unsubscriber.done()):
            self._unsubscriber = _track(self._unsubscribe_unused())

    async def _unsubscribe_unused(self) -> None:
        # A burst of closes (a deploy, a network blip) gathers into a few commands.
        await asyncio.sleep(UNSUBSCRIBE_BATCH_DELAY_SECONDS)
        failures = 0
        while self._unused:
            names, self._unused = self._unused, set()
            by_shard: dict[_Shard, list[str]] = {}
            for name in names:
                by_shard.setdefault(self._get_shard(name), []).append(name)
            try:
                async with asyncio.timeout(UNSUBSCRIBE_TIMEOUT_SECONDS):
                    await asyncio.gather(
                        *(shard.unsubscribe_unused(n, self.in_use) for shard, n in by_shard.items())
                    )
            except Exception as error:
                # Messages for these names are ignored meanwhile (nobody is in the maps).
                self._unused |= names
                failures += 1
                if failures == 1:
                    logger.warning("could not unsubscribe %d channel(s): %r", len(names), error)
                await asyncio.sleep(min(MAX_UNSUBSCRIBE_RETRY_SECONDS, 0.5 * 2**failures))
            else:
                failures = 0

    def redis_lost(self) -> None:
        """Tell every consumer of this process: its events cannot arrive (it closes, 1013)."""
        failed = self.channel_layer.serialize({"type": LAYER_FAILED_MESSAGE_TYPE})
        for queue in self.channels.values():
            queue.put_nowait(failed)

    def pending_unsubscribes(self) -> int:
        return len(self._unused)


async def group_send_many(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Send each (group, message) in order: pipelined on our Redis layer, else one by one."""
    if isinstance(layer, ResilientRedisPubSubChannelLayer):
        await layer._get_layer().group_send_many(messages)
        return
    for group, message in messages:
        await layer.group_send(group, message)


def attach_consumer(layer: Any, channel: str, callback: Callable[[dict[str, Any]], None]) -> bool:
    """Deliver `channel`'s messages to `callback` as they arrive, on our Redis layer; False
    elsewhere (the consumer then reads them with receive())."""
    if isinstance(layer, ResilientRedisPubSubChannelLayer):
        return layer._get_layer().attach(channel, callback)
    return False


def release_consumer(layer: Any, channel: str, groups: Iterable[str]) -> None:
    """A closed consumer leaves its groups and channel; never waits (safe in a `finally`)."""
    groups = list(groups)
    release = None
    if isinstance(layer, RedisPubSubChannelLayer):
        release = getattr(layer._get_layer(), "release", None)
    if release is not None:
        release(channel, groups)
        return
    if groups:
        _track(_discard_all(layer, channel, groups))


async def _discard_all(layer: Any, channel: str, groups: list[str]) -> None:
    try:
        async with asyncio.timeout(UNSUBSCRIBE_TIMEOUT_SECONDS):
            await asyncio.gather(*(layer.group_discard(group, channel) for group in groups))
    except Exception as error:
        logger.warning("group_discard of %s failed: %r", channel, error)


def _track(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(coroutine)
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)
    return task


async def wait_for_cleanups(max_seconds: float) -> None:
    """Let the background cleanups finish (at shutdown), for at most `max_seconds`."""
    if _cleanups:
        await asyncio.wait(set(_cleanups), timeout=max_seconds)
