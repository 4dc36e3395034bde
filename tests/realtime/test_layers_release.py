"""The PubSub layer forgets a closed consumer at once and unsubscribes Redis in batches,
never a name that is in use again by then (channels_redis#276; a reconnect in between)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio

from realtime.layers import ResilientRedisPubSubChannelLayer, release_consumer
from tests.realtime.conftest import REDIS_URL

pytestmark = [pytest.mark.redis]

BATCH_WAIT_SECONDS = 0.3  # above UNSUBSCRIBE_BATCH_DELAY_SECONDS


@pytest.fixture
async def layer() -> AsyncIterator[ResilientRedisPubSubChannelLayer]:
    prefix = f"release{uuid.uuid4().hex[:8]}"
    channel_layer = ResilientRedisPubSubChannelLayer(hosts=[{"address": REDIS_URL}], prefix=prefix)
    yield channel_layer
    await channel_layer.flush()


@pytest.fixture
async def client() -> AsyncIterator[Any]:
    connection = redis.asyncio.from_url(REDIS_URL)
    yield connection
    await connection.aclose()


async def subscribers(client: Any, name: str) -> int:
    return int(dict(await client.pubsub_numsub(name))[name.encode()])


async def test_release_forgets_at_once_and_unsubscribes_soon(
    layer: ResilientRedisPubSubChannelLayer, client: Any
) -> None:
    channel = await layer.new_channel()
    await layer.group_add("portfolio.user.1.orders", channel)
    await layer.group_add("portfolio.user.1.control", channel)
    loop_layer = layer._get_layer()
    group_channel = loop_layer._get_group_channel_name("portfolio.user.1.orders")
    assert await subscribers(client, group_channel) == 1
    # A message already taken for the consumer, so its receive() never sees CancelledError.
    await layer.group_send("portfolio.user.1.orders", {"type": "portfolio.event"})
    await asyncio.sleep(0.1)

    release_consumer(layer, channel, ["portfolio.user.1.orders", "portfolio.user.1.control"])
    assert loop_layer.channels == {} and loop_layer.groups == {}  # synchronously
    await asyncio.sleep(BATCH_WAIT_SECONDS)
    assert await subscribers(client, group_channel) == 0
    assert await subscribers(client, channel) == 0
    assert loop_layer.pending_unsubscribes() == 0


async def test_a_group_joined_again_before_the_batch_stays_subscribed(
    layer: ResilientRedisPubSubChannelLayer, client: Any
) -> None:
    old = await layer.new_channel()
    await layer.group_add("portfolio.user.2.orders", old)
    release_consumer(layer, old, ["portfolio.user.2.orders"])
    new = await layer.new_channel()  # the same user reconnects at once
    await layer.group_add("portfolio.user.2.orders", new)
    await asyncio.sleep(BATCH_WAIT_SECONDS)
    group_channel = layer._get_layer()._get_group_channel_name("portfolio.user.2.orders")
    assert await subscribers(client, group_channel) == 1
    await layer.group_send("portfolio.user.2.orders", {"type": "portfolio.event", "n": 1})
    message = await asyncio.wait_for(layer.receive(new), 2)
    assert message == {"type": "portfolio.event", "n": 1}


async def test_a_failed_new_channel_leaves_no_queue() -> None:
    dead = ResilientRedisPubSubChannelLayer(hosts=[{"address": "redis://127.0.0.1:1/0"}])
    with pytest.raises(Exception, match="Connect"):
        await dead.new_channel()
    assert dead._get_layer().channels == {}
