"""The snapshot-consistency invariant (docs/architecture.md), checked like Zulip's `verify_action`.

A seeded random run (tests/realtime/consistency_driver.py) interleaves order submits,
worker drains, cancels and price ticks with browser tabs that connect, drop, reconnect and
re-subscribe, while the consumer loses some channel-layer messages (the PubSub layer is
at-most-once). Every frame is checked against the schema and applied to a model of the
client store (tests/realtime/client_state.py); a tab that sees a gap re-subscribes that
channel. At the end every open tab's store must equal a fresh GET /api/portfolio/snapshot/,
field by field, decimal strings exactly, and each channel's last seq must equal the REST seq.
"""

import asyncio
import contextlib
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from realtime.consumers import PortfolioConsumer
from realtime.events import PositionUpdate
from realtime.events.schemas import PositionData
from realtime.groups import channel_group
from realtime.publisher import publisher
from tests.factories import make_account, set_price
from tests.realtime.conftest import event_of, session_cookie
from tests.realtime.consistency_driver import (
    MAX_FILL_QTY,
    SYMBOLS,
    Loss,
    Run,
    Tab,
    current_seqs,
    rest_snapshot,
    submit,
    work,
)
from trading.models import BrokerAccount
from trading.services.orders import order_submit
from trading.services.prices import price_apply

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEEDS = (11, 22, 33, 44, 55)
STEPS = 40
# Share of channel-layer messages a consumer loses while the run is "lossy".
LOSS_RATE = 0.08


@pytest.fixture
def loss(monkeypatch: pytest.MonkeyPatch) -> Loss:
    loss = Loss()
    # Events reach the consumer here on every layer (portfolio_event calls it too).
    deliver = PortfolioConsumer.portfolio_event_now

    def lossy(self: PortfolioConsumer, message: dict[str, Any]) -> None:
        frame = event_of(message)
        if loss.loses(frame):
            loss.dropped.append((frame["channel"], frame["seq"]))
            return
        deliver(self, message)

    monkeypatch.setattr(PortfolioConsumer, "portfolio_event_now", lossy)
    return loss


# --- Comparison -------------------------------------------------------------------------------


def _assert_matches_rest(tab: Tab, rest: dict[str, Any]) -> None:
    state = tab.state
    assert not state.errors, (tab.name, state.errors)
    assert state.last_seq == rest["seq"], (tab.name, state.last_seq, rest["seq"])

    assert state.account is not None
    rest_account = {k: v for k, v in rest["account"].items() if k in state.account}
    assert {k: state.account[k] for k in rest_account} == rest_account, tab.name
    assert set(rest_account) >= {"cash", "equity", "buying_power", "day_pl", "day_pl_pct"}

    rest_positions = {p["symbol"]: p for p in rest["positions"]}
    assert set(state.positions) == set(rest_positions), tab.name
    for symbol, expected in rest_positions.items():
        got = {k: state.positions[symbol].get(k) for k in expected}
        assert got == expected, (tab.name, symbol)

    rest_orders = {o["id"]: o for o in rest["open_orders"]}
    assert set(state.orders) == set(rest_orders), tab.name
    for order_id, expected in rest_orders.items():
        got = {k: state.orders[order_id].get(k) for k in expected}
        assert got == expected, (tab.name, order_id)

    # Fills the client saw are the server's; REST lists only the most recent ones.
    for fill in rest["recent_fills"]:
        assert state.fills.get(fill["execution_id"]) == fill, (tab.name, fill["execution_id"])


@pytest.mark.parametrize("seed", SEEDS)
async def test_every_client_ends_equal_to_a_fresh_rest_snapshot(
    seed: int, channel_layer: Any, loss: Loss, settings: Any
) -> None:
    settings.SIMULATED_MAX_FILL_QTY = MAX_FILL_QTY
    account = await sync_to_async(make_account)(f"verify{seed}")
    run = Run(seed, account, await session_cookie(account.user), loss)
    try:
        await run.do_connect()
        loss.rate = LOSS_RATE
        for _ in range(STEPS):
            await run.step()

        # Losses are only noticed when a later frame shows the gap: stop losing, then make
        # one change on every channel (a filled buy touches orders, positions and account).
        loss.rate = 0.0
        await sync_to_async(submit)(account, SYMBOLS[0], "buy", Decimal(1), "market", Decimal(0))
        await sync_to_async(work)()
        await sync_to_async(publisher.flush)()  # end the source's coalescing windows now
        late = Tab("late-joiner", run.cookie)  # a client that connects only now
        await late.open()
        run.tabs.append(late)
        seqs = await sync_to_async(current_seqs)(account)
        await run.settle(seqs)

        rest = await sync_to_async(rest_snapshot)(account)
        assert rest["seq"] == seqs
        for tab in run.tabs:
            _assert_matches_rest(tab, rest)
        print(
            f"seed {seed}: actions {run.counts}, dropped {len(loss.dropped)}, "
            f"gaps {sum(t.state.gaps for t in run.tabs)}, refused cancels {run.refused_cancels}, "
            f"frames {sum(t.frames for t in run.tabs)}, positions {len(rest['positions'])}, "
            f"open orders {len(rest['open_orders'])}, seq {rest['seq']}"
        )
    finally:
        for tab in run.tabs:
            await tab.close()


# --- Gaps must stay visible -------------------------------------------------------------------


def _two_positions() -> BrokerAccount:
    set_price("AAPL", "200.00")
    set_price("MSFT", "400.00")
    account = make_account("two-positions")
    for symbol in ("AAPL", "MSFT"):
        order_submit(account=account, symbol=symbol, side="buy", qty=Decimal(5), type="market")
    work()
    return account


def _touches(frame: dict[str, Any], symbol: str) -> bool:
    events = frame.get("events", [frame])
    return frame["channel"] == "positions" and any(e["data"]["symbol"] == symbol for e in events)


async def test_a_lost_event_is_never_hidden_inside_a_consumer_batch(
    channel_layer: Any, loss: Loss
) -> None:
    """AAPL waits in the 1 s window when MSFT's update is lost; AAPL's next one comes.

    The consumer must not send both AAPL updates as one batch spanning MSFT's seq: the
    client would never learn that it missed MSFT.
    """
    account = await sync_to_async(_two_positions)()
    loss.drop = lambda frame: _touches(frame, "MSFT")
    tab = Tab("tab", await session_cookie(account.user))
    await tab.open()
    run = Run(0, account, tab.cookie, loss)
    run.tabs.append(tab)
    await run.settle(await sync_to_async(current_seqs)(account))  # the snapshots are in
    for symbol, price in (("AAPL", "201.00"), ("MSFT", "401.00"), ("AAPL", "202.00")):
        await sync_to_async(price_apply)(symbol=symbol, price=Decimal(price), at=timezone.now())
        await sync_to_async(publisher.flush)()
        await asyncio.sleep(0.05)
    seqs = await sync_to_async(current_seqs)(account)
    try:
        await run.settle(seqs)
        assert loss.dropped, "the MSFT update was never sent"
        assert tab.state.gaps == 1
        assert tab.state.positions["MSFT"]["current_price"] == "401.00000000"
    finally:
        await tab.close()


async def test_a_source_batch_never_covers_seqs_published_elsewhere(channel_layer: Any) -> None:
    """Seqs 3 and 5 are price moves here; 4 went out from another process (a worker)."""
    user_id = 4242
    channel = await channel_layer.new_channel()
    await channel_layer.group_add(channel_group(user_id, "positions"), channel)
    for seq, symbol in ((3, "AAPL"), (5, "AAPL")):
        publisher.publish(user_id, _price_move(seq, symbol), coalesce=True)
    await sync_to_async(publisher.flush)()
    received = [await asyncio.wait_for(channel_layer.receive(channel), timeout=3)]
    with contextlib.suppress(TimeoutError):
        received.append(await asyncio.wait_for(channel_layer.receive(channel), timeout=0.5))
    assert [(e.get("from_seq", e["seq"]), e["seq"]) for e in map(event_of, received)] == [
        (3, 3),
        (5, 5),
    ]


def _price_move(seq: int, symbol: str) -> PositionUpdate:
    numbers = {name: Decimal(1) for name in PositionData.model_fields if name not in {"symbol"}}
    data = PositionData(**{**numbers, "symbol": symbol, "side": "long"})
    return PositionUpdate(seq=seq, ts=timezone.now(), data=data)


async def test_an_unfunded_account_renders_like_rest(channel_layer: Any) -> None:
    """last_equity 0 makes day_pl_pct undefined: still "0.000000" on both, not a bare "0"."""
    account = await sync_to_async(make_account)("unfunded", cash="0.00")
    tab = Tab("tab", await session_cookie(account.user))
    await tab.open()
    try:
        run = Run(0, account, tab.cookie, Loss())
        run.tabs.append(tab)
        await run.settle(await sync_to_async(current_seqs)(account))
        _assert_matches_rest(tab, await sync_to_async(rest_snapshot)(account))
    finally:
        await tab.close()
