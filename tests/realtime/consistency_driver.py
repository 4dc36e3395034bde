"""The random scenario of the snapshot-consistency tests: trading, ticks and browser tabs."""

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from portfolio_stream.asgi import application
from realtime.events import parse_event
from tests.realtime.client_state import CHANNELS, TERMINAL_ORDER_STATUSES, ClientState
from tests.realtime.conftest import HOST, ORIGIN
from trading.models import BrokerAccount, Instrument, Order
from trading.money import MONEY_PLACES
from trading.services.common import DomainError
from trading.services.orders import order_cancel_request, order_submit
from trading.services.prices import price_apply
from trading.services.venue_matching import venue_match
from trading.worker import run_worker

SYMBOLS = ("AAPL", "MSFT", "NVDA")
MAX_TABS = 3
# Small displayed liquidity, so orders fill in several executions.
MAX_FILL_QTY = "7"
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
            application, "/ws/portfolio", headers=[HOST, ORIGIN, (b"cookie", self.cookie)]
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
        order_id = await sync_to_async(submit)(self.account, symbol, side, qty, type, drift)
        if order_id is not None:
            self.order_ids.append(order_id)

    async def do_work(self) -> None:
        await sync_to_async(work)()

    async def do_cancel(self) -> None:
        if self.order_ids:
            order_id = self.rng.choice(self.order_ids)
            self.refused_cancels += await sync_to_async(cancel)(self.account, order_id)

    async def do_tick(self) -> None:
        symbol = self.rng.choice(SYMBOLS)
        drift = Decimal(self.rng.randint(-200, 200)) / 10000
        await sync_to_async(tick)(symbol, drift)

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


def submit(
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


def work() -> None:
    run_worker(stop=threading.Event(), burst=True, worker_id="consistency")


def cancel(account: BrokerAccount, order_id: str) -> int:
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


def tick(symbol: str, drift: Decimal) -> None:
    """A price tick as market_tick applies it: mark positions, then work the venue's book."""
    price = Instrument.objects.get(symbol=symbol).price
    assert price is not None
    price = (price * (1 + drift)).quantize(MONEY_PLACES)
    price_apply(symbol=symbol, price=price, at=timezone.now())
    venue_match(symbol, price, max_fill_qty=Decimal(MAX_FILL_QTY))


def current_seqs(account: BrokerAccount) -> dict[str, int]:
    account.refresh_from_db()
    return {
        "positions": account.positions_seq,
        "orders": account.orders_seq,
        "account": account.account_seq,
    }


def rest_snapshot(account: BrokerAccount) -> dict[str, Any]:
    client = Client()
    client.force_login(account.user)
    response = client.get("/api/portfolio/snapshot/")
    assert response.status_code == 200, response.content
    return dict(response.json())
