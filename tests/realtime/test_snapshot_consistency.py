"""The snapshot-consistency invariant (DESIGN.md), checked like Zulip's `verify_action`.

A seeded random run interleaves order submits, worker drains, cancels and price ticks
with browser tabs that connect, drop, reconnect and re-subscribe, while the consumer
loses some channel-layer messages (the PubSub layer is at-most-once). Every frame is
checked against the schema and applied to a model of the client store
(tests/realtime/client_state.py); a tab that sees a gap re-subscribes that channel. At the
end every open tab's store must equal a fresh GET /api/portfolio/snapshot/, field by
field, decimal strings exactly, and each channel's last seq must equal the REST seq.
"""

import asyncio
import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from portfolio_stream.asgi import application
from realtime.consumers import PortfolioConsumer
from realtime.events import PositionUpdate, parse_event
from realtime.events.schemas import PositionData
from realtime.groups import channel_group
from realtime.publisher import publisher
from realtime.sequencing import frame_range
from tests.factories import make_account, set_price
from tests.realtime.client_state import CHANNELS, TERMINAL_ORDER_STATUSES, ClientState
from tests.realtime.conftest import ORIGIN, session_cookie
from trading.broker.simulated.venue import match_symbol
from trading.models import BrokerAccount, Instrument, Order
from trading.money import MONEY_PLACES
from trading.services.common import DomainError
from trading.services.fills import trade_update_apply
from trading.services.orders import order_cancel_request, order_submit
from trading.services.prices import price_apply
from trading.worker import run_worker

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEEDS = (11, 22, 33, 44, 55)
STEPS = 40
SYMBOLS = ("AAPL", "MSFT", "NVDA")
MAX_TABS = 3
# Small displayed liquidity, so orders fill in several executions.
MAX_FILL_QTY = "7"
# Share of channel-layer messages a consumer loses while the run is "lossy".
LOSS_RATE = 0.08
# After every tab has caught up, keep pumping this long: a late frame would show up.
SETTLE_QUIET_SECONDS = 0.3
SETTLE_MAX_SECONDS = 15.0

ACTIONS = {
    "market": 4,
    "limit": 3,
    "work": 4,
    "cancel": 2,
    "tick": 5,
    "connect": 1,
    "disconnect": 1,
    "reconnect": 1,
    "resubscribe": 1,
    "pause": 1,
}


@dataclass
class Loss:
    """Message loss between the channel layer and the consumer: seeded, or chosen frames."""

    rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    drop: Callable[[dict[str, Any]], bool] | None = None
    dropped: list[tuple[str, int]] = field(default_factory=list)

    def loses(self, frame: dict[str, Any]) -> bool:
        if self.drop is not None:
            return self.drop(frame)
        return bool(self.rate) and self.rng.random() < self.rate


@pytest.fixture
def loss(monkeypatch: pytest.MonkeyPatch) -> Loss:
    loss = Loss()
    deliver = PortfolioConsumer.portfolio_event

    async def lossy(self: PortfolioConsumer, message: dict[str, Any]) -> None:
        frame = message["event"]
        if loss.loses(frame):
            loss.dropped.append((frame["channel"], frame["seq"]))
            return
        await deliver(self, message)

    monkeypatch.setattr(PortfolioConsumer, "portfolio_event", lossy)
    return loss


class Tab:
    """One browser tab: its socket and its store; re-subscribes a channel on a gap."""

    def __init__(self, name: str, cookie: bytes) -> None:
        self.name = name
        self.cookie = cookie
        self.state = ClientState()
        self.frames = 0
        self.communicator: WebsocketCommunicator | None = None

    async def open(self) -> None:
        self.state = ClientState()
        self.communicator = WebsocketCommunicator(
            application, "/ws/portfolio", headers=[ORIGIN, (b"cookie", self.cookie)]
        )
        connected, _ = await self.communicator.connect()
        assert connected, f"{self.name} could not connect"
        await self.subscribe(list(CHANNELS))

    async def close(self) -> None:
        if self.communicator is not None:
            await self.communicator.disconnect()
            self.communicator = None

    async def subscribe(self, channels: list[str]) -> None:
        assert self.communicator is not None
        await self.communicator.send_json_to({"type": "subscribe", "channels": channels})

    async def pump(self) -> int:
        """Apply every frame already delivered; never waits (a timeout would kill the app)."""
        communicator = self.communicator
        if communicator is None:
            return 0
        received = 0
        while not communicator.output_queue.empty():
            frame = await communicator.receive_json_from()
            parse_event(frame)  # every frame is checked against the schema
            received += 1
            gaps = self.state.apply(frame)
            if gaps:
                await self.subscribe(gaps)
        self.frames += received
        return received


class Run:
    """One seeded run against one trader account."""

    def __init__(self, seed: int, account: BrokerAccount, cookie: bytes, loss: Loss) -> None:
        self.rng = random.Random(seed)
        self.account = account
        self.cookie = cookie
        self.loss = loss
        loss.rng = random.Random(seed * 7919)
        self.tabs: list[Tab] = []
        self.closed_tabs = 0
        self.order_ids: list[str] = []
        self.counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
        self.refused_cancels = 0

    async def pump(self, seconds: float = 0.01) -> int:
        await asyncio.sleep(seconds)
        return sum([await tab.pump() for tab in self.tabs])

    async def step(self) -> None:
        action = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        self.counts[action] += 1
        await getattr(self, f"do_{action}")()
        await self.pump()

    # --- Trading ------------------------------------------------------------------------------

    async def do_market(self) -> None:
        await self._submit(type="market")

    async def do_limit(self) -> None:
        await self._submit(type="limit")

    async def _submit(self, *, type: str) -> None:
        symbol = self.rng.choice(SYMBOLS)
        side = self.rng.choice(("buy", "sell"))
        qty = Decimal(self.rng.randint(1, 15))
        drift = Decimal(self.rng.randint(-300, 300)) / 10000
        order_id = await sync_to_async(_submit)(self.account, symbol, side, qty, type, drift)
        if order_id is not None:
            self.order_ids.append(order_id)

    async def do_work(self) -> None:
        await sync_to_async(_work)()

    async def do_cancel(self) -> None:
        if self.order_ids:
            order_id = self.rng.choice(self.order_ids)
            self.refused_cancels += await sync_to_async(_cancel)(self.account, order_id)

    async def do_tick(self) -> None:
        symbol = self.rng.choice(SYMBOLS)
        drift = Decimal(self.rng.randint(-200, 200)) / 10000
        await sync_to_async(_tick)(symbol, drift)

    # --- Tabs ---------------------------------------------------------------------------------

    async def do_connect(self) -> None:
        if len(self.tabs) < MAX_TABS:
            tab = Tab(f"tab{len(self.tabs) + self.closed_tabs}", self.cookie)
            await tab.open()
            self.tabs.append(tab)

    async def do_disconnect(self) -> None:
        if len(self.tabs) > 1:
            tab = self.tabs.pop(self.rng.randrange(len(self.tabs)))
            await tab.pump()
            await tab.close()
            self.closed_tabs += 1

    async def do_reconnect(self) -> None:
        if self.tabs:
            tab = self.rng.choice(self.tabs)
            await tab.close()
            await tab.open()  # a fresh store, filled by fresh snapshots

    async def do_resubscribe(self) -> None:
        if self.tabs:
            await self.rng.choice(self.tabs).subscribe([self.rng.choice(CHANNELS)])

    async def do_pause(self) -> None:
        await self.pump(self.rng.uniform(0.3, 1.1))  # let some batching windows close

    # --- The end ------------------------------------------------------------------------------

    async def settle(self, seqs: dict[str, int]) -> None:
        """Pump until every tab has applied each channel up to `seqs`, then a while longer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_MAX_SECONDS
        while not all(tab.state.in_sync and tab.state.last_seq == seqs for tab in self.tabs):
            report = {t.name: (t.state.last_seq, t.state.resyncing) for t in self.tabs}
            assert loop.time() < deadline, f"tabs never caught up with {seqs}: {report}"
            await self.pump(0.02)
        await self.pump(SETTLE_QUIET_SECONDS)


# --- Blocking helpers (run through sync_to_async) --------------------------------------------


def _submit(
    account: BrokerAccount, symbol: str, side: str, qty: Decimal, type: str, drift: Decimal
) -> str | None:
    limit_price = None
    if type == "limit":
        price = Instrument.objects.get(symbol=symbol).price
        assert price is not None
        limit_price = (price * (1 + drift)).quantize(MONEY_PLACES)
    try:
        order = order_submit(
            account=account, symbol=symbol, side=side, qty=qty, type=type, limit_price=limit_price
        )
    except DomainError as error:
        assert error.code == "insufficient_buying_power", error.message
        return None
    return str(order.pk)


def _work() -> None:
    run_worker(stop=threading.Event(), burst=True, worker_id="consistency")


def _cancel(account: BrokerAccount, order_id: str) -> int:
    """Request a cancel; a finished order must refuse it (returns 1 when refused)."""
    status = Order.objects.get(pk=order_id).status
    try:
        order_cancel_request(account=account, order_id=order_id)
    except DomainError as error:
        assert error.code == "not_cancelable", error.message
        assert status in TERMINAL_ORDER_STATUSES, (status, error.message)
        return 1
    assert status not in TERMINAL_ORDER_STATUSES, f"a {status} order accepted a cancel"
    return 0


def _tick(symbol: str, drift: Decimal) -> None:
    """A price tick as market_tick applies it: mark positions, then work the venue's book."""
    price = Instrument.objects.get(symbol=symbol).price
    assert price is not None
    price = (price * (1 + drift)).quantize(MONEY_PLACES)
    price_apply(symbol=symbol, price=price, at=timezone.now())
    match_symbol(symbol, price, trade_update_apply, Decimal(MAX_FILL_QTY))


def _seqs(account: BrokerAccount) -> dict[str, int]:
    account.refresh_from_db()
    return {
        "positions": account.positions_seq,
        "orders": account.orders_seq,
        "account": account.account_seq,
    }


def _rest_snapshot(account: BrokerAccount) -> dict[str, Any]:
    client = Client()
    client.force_login(account.user)
    response = client.get("/api/portfolio/snapshot/")
    assert response.status_code == 200, response.content
    return dict(response.json())


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
        await sync_to_async(_submit)(account, SYMBOLS[0], "buy", Decimal(1), "market", Decimal(0))
        await sync_to_async(_work)()
        await sync_to_async(publisher.flush)()  # end the source's coalescing windows now
        late = Tab("late-joiner", run.cookie)  # a client that connects only now
        await late.open()
        run.tabs.append(late)
        seqs = await sync_to_async(_seqs)(account)
        await run.settle(seqs)

        rest = await sync_to_async(_rest_snapshot)(account)
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
    _work()
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
    await run.settle(await sync_to_async(_seqs)(account))  # the snapshots are in
    for symbol, price in (("AAPL", "201.00"), ("MSFT", "401.00"), ("AAPL", "202.00")):
        await sync_to_async(price_apply)(symbol=symbol, price=Decimal(price), at=timezone.now())
        await sync_to_async(publisher.flush)()
        await asyncio.sleep(0.05)
    seqs = await sync_to_async(_seqs)(account)
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
    assert [frame_range(m["event"]) for m in received] == [(3, 3), (5, 5)]


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
        await run.settle(await sync_to_async(_seqs)(account))
        _assert_matches_rest(tab, await sync_to_async(_rest_snapshot)(account))
    finally:
        await tab.close()
