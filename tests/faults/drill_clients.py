"""The drills' clients: browser tabs that reconnect like static/'s live client, and REST.

`LiveTab` follows static/portfolio/js/live_client.js and backoff.js: subscribe to every
channel on open, answer the server's `ping`, re-subscribe a channel on a seq gap, give up
on a socket whose snapshots take over 10 s, and after a lost socket wait (full jitter from
0.5 s to 30 s; after a 1012, 0.5-1 s, then 1.5-3 s) before trying again; 4401 and 4403 end
it. Each accepted socket starts a fresh store (tests/realtime/client_state.py), filled by
fresh snapshots: what a reconnecting tab shows.
"""

import asyncio
import contextlib
import json
import random
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.realtime.client_state import CHANNELS, ClientState

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
RESTART_BASE_SECONDS = 1.0
RESTART_CAP_SECONDS = 3.0
SNAPSHOT_TIMEOUT_SECONDS = 10.0
STOP_CODES = {4401: "logged_out", 4403: "disabled"}


class Backoff:
    """backoff.js: full jitter, or equal jitter of at most 3 s after an announced restart."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.attempt = 0
        self.restart_attempt: int | None = None

    def server_restarting(self) -> None:
        if self.restart_attempt is None:
            self.restart_attempt = 0

    def next(self) -> float:
        self.attempt += 1
        if self.restart_attempt is not None:
            exponent = min(self.restart_attempt, 10)
            self.restart_attempt += 1
            ceiling = min(RESTART_CAP_SECONDS, RESTART_BASE_SECONDS * 2**exponent)
            return ceiling / 2 + self.rng.random() * ceiling / 2
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(self.attempt - 1, 30))
        return self.rng.random() * ceiling

    def reset(self) -> None:
        self.attempt = 0
        self.restart_attempt = None


class LiveTab:
    """One browser tab of `user` on `ws_url`; `run()` until `stop()`."""

    def __init__(self, name: str, user: Any, ws_url: str, origin: str, cookie: str) -> None:
        self.name = name
        self.user = user
        self.ws_url = ws_url
        self.origin = origin
        self.cookie = cookie
        self.backoff = Backoff(random.Random(name))
        self.state = ClientState()
        self.ws: ClientConnection | None = None
        self.opens = 0  # accepted sockets
        self.failed_attempts = 0  # handshakes refused, failed or timed out
        self.lives: list[float] = []  # monotonic times a socket had every snapshot
        self.closes: list[tuple[float, int | None]] = []  # (when, close code; None = no frame)
        self.errors: list[str] = []  # error frame codes, every socket
        self.finished: str | None = None
        # The latest (when, what) of this tab, to tell a stuck tab's story.
        self.history: deque[tuple[float, str]] = deque(maxlen=40)
        self._live_now = False
        self._stop = asyncio.Event()

    @property
    def live(self) -> bool:
        return self._live_now and self.state.in_sync

    def close_codes(self, since: float = 0.0) -> list[int | None]:
        return [code for when, code in self.closes if when >= since]

    def live_since(self, moment: float) -> float | None:
        """When the tab first had every snapshot on a socket opened after `moment`."""
        return next((t for t in self.lives if t >= moment), None)

    async def run(self) -> None:
        while not self._stop.is_set():
            code = await self._one_socket()
            if self._stop.is_set():
                break
            if code in STOP_CODES:
                self.finished = STOP_CODES[code]
                break
            if code == 1012:
                self.backoff.server_restarting()
            delay = self.backoff.next()
            self.note(f"waiting {delay:.1f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def stop(self) -> None:
        self._stop.set()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    def note(self, what: str) -> None:
        self.history.append((round(time.monotonic(), 2), what))

    async def _one_socket(self) -> int | None:
        self.note("connecting")
        try:
            ws = await connect(
                self.ws_url,
                additional_headers={"Origin": self.origin, "Cookie": self.cookie},
                proxy=None,
                open_timeout=10,
                ping_interval=None,  # the app's heartbeat is what the server checks
                max_queue=None,
            )
        except (OSError, InvalidHandshake, TimeoutError) as error:
            self.failed_attempts += 1
            self.note(f"handshake failed: {error!r}")
            return None
        self.note("open")
        self.ws = ws
        if self._stop.is_set():
            # stop() came while the handshake was in flight and found no socket to close:
            # a tab that has left must not hold a socket open (the server would count it).
            await ws.close()
            self.ws = None
            return None
        self.opens += 1
        self.state = ClientState()
        self._live_now = False
        code: int | None
        try:
            await self._read(ws)
            code = ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None
        except TimeoutError:  # the snapshots never came: drop the socket, as the page does
            code = 4000
            await ws.close(4000, "snapshot timeout")
        self.ws = None
        self._live_now = False
        self.note(f"closed {code}")
        if not self._stop.is_set():
            self.closes.append((time.monotonic(), code))
        return code

    async def _read(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        pending = set(CHANNELS)
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(SNAPSHOT_TIMEOUT_SECONDS) as budget:
                await _send(ws, json.dumps({"type": "subscribe", "channels": list(CHANNELS)}))
                async for message in ws:  # what arrived before a close is still read
                    frame = json.loads(message)
                    kind = frame["type"]
                    self.note(kind if kind != "error" else f"error {frame['code']}")
                    if kind == "ping":
                        await _send(ws, '{"type":"pong"}')
                        continue
                    if kind == "error":
                        self.errors.append(frame["code"])
                    if kind == "snapshot":
                        pending.discard(frame["channel"])
                    gaps = self.state.apply(frame)
                    if gaps:
                        pending.update(gaps)
                        budget.reschedule(loop.time() + SNAPSHOT_TIMEOUT_SECONDS)
                        await _send(ws, json.dumps({"type": "subscribe", "channels": gaps}))
                    if not pending and not self._live_now:
                        self._live_now = True
                        self.lives.append(time.monotonic())
                        self.backoff.reset()
                    if not pending:
                        budget.reschedule(None)


async def _send(ws: ClientConnection, text: str) -> None:
    """Send unless the server has closed first (a 1013 right after the accept): the frames
    it sent before its close are still read, as a browser's onmessage gets them."""
    with contextlib.suppress(ConnectionClosed):
        await ws.send(text)


async def start_tabs(tabs: list[LiveTab], concurrency: int = 50) -> list[asyncio.Task[None]]:
    """Start every tab, at most `concurrency` opening at a time; wait until all are live."""
    gate = asyncio.Semaphore(concurrency)
    tasks: list[asyncio.Task[None]] = []

    async def opened(tab: LiveTab) -> None:
        async with gate:
            tasks.append(asyncio.create_task(tab.run()))
            await wait_until(lambda: tab.live or tab.finished, 60, f"{tab.name} live")

    await asyncio.gather(*(opened(tab) for tab in tabs))
    return tasks


async def stop_tabs(tabs: list[LiveTab], tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*(tab.stop() for tab in tabs))
    await asyncio.wait(tasks, timeout=15)
    for task in tasks:
        task.cancel()
    # A cancelled read leaves its socket open; the tabs are gone, so are their sockets.
    for tab in tabs:
        if tab.ws is not None:
            tab.ws.transport.abort()


async def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> float:
    """Poll `condition` every 50 ms; the seconds it took. Raises TimeoutError naming `what`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"no {what} within {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


# --- REST ------------------------------------------------------------------------------------


class Rest:
    """A logged-in browser's REST calls (session cookie and a CSRF token), to any server."""

    def __init__(self, cookie: str) -> None:
        token = secrets.token_hex(16)
        self.client = httpx.AsyncClient(
            trust_env=False,
            timeout=10,
            headers={"Cookie": f"{cookie}; csrftoken={token}", "X-CSRFToken": token},
        )

    async def get(self, url: str) -> httpx.Response:
        return await self.client.get(url)

    async def snapshot(self, base_url: str) -> dict[str, Any]:
        response = await self.client.get(f"{base_url}/api/portfolio/snapshot/")
        assert response.status_code == 200, (response.status_code, response.text[:500])
        return dict(response.json())

    async def order(self, base_url: str, **fields: Any) -> httpx.Response:
        payload = {"qty": "1", "type": "market", **fields}
        return await self.client.post(f"{base_url}/api/orders/", json=payload)

    async def cancel(self, base_url: str, order_id: str) -> httpx.Response:
        return await self.client.delete(f"{base_url}/api/orders/{order_id}/")

    async def wait_order_done(self, base_url: str, order_id: str, timeout: float = 30) -> str:
        """Poll the order until it is no longer waiting for the worker; its status."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.client.get(f"{base_url}/api/orders/{order_id}/")
            status = str(response.json()["status"]) if response.status_code == 200 else ""
            if status in {"filled", "canceled", "rejected"} or time.monotonic() > deadline:
                return status
            await asyncio.sleep(0.1)

    async def stable_snapshot(self, base_url: str, quiet: float = 1.5) -> dict[str, Any]:
        """A snapshot whose seqs did not move for `quiet` seconds (the worker is done)."""
        previous = await self.snapshot(base_url)
        while True:
            await asyncio.sleep(quiet)
            current = await self.snapshot(base_url)
            if current["seq"] == previous["seq"]:
                return current
            previous = current

    async def close(self) -> None:
        await self.client.aclose()


# --- The snapshot-consistency property ---------------------------------------------------


def store_differences(tab: LiveTab, rest: dict[str, Any]) -> list[str]:
    """How `tab`'s store differs from a REST snapshot (empty: equal), as in
    tests/realtime/test_snapshot_consistency.py: every field REST has, decimals exactly."""
    state, name = tab.state, tab.name
    found: list[str] = []
    if state.errors:
        found.append(f"{name}: error frames {[e['code'] for e in state.errors]}")
    if state.last_seq != rest["seq"]:
        found.append(f"{name}: seq {state.last_seq} != REST {rest['seq']}")
    if state.account is None:
        return [*found, f"{name}: no account"]
    for key, value in rest["account"].items():
        if key in state.account and state.account[key] != value:
            found.append(f"{name}: account.{key} {state.account[key]!r} != {value!r}")
    found += _rows(name, "position", state.positions, {p["symbol"]: p for p in rest["positions"]})
    found += _rows(name, "order", state.orders, {o["id"]: o for o in rest["open_orders"]})
    for fill in rest["recent_fills"]:
        if state.fills.get(fill["execution_id"]) != fill:
            found.append(f"{name}: fill {fill['execution_id']} missing or different")
    return found


def _rows(
    name: str, kind: str, ours: dict[str, Any], theirs: dict[str, dict[str, Any]]
) -> list[str]:
    if set(ours) != set(theirs):
        return [f"{name}: {kind}s {sorted(ours)} != REST {sorted(theirs)}"]
    return [
        f"{name}: {kind} {key}.{field} {ours[key].get(field)!r} != {value!r}"
        for key, row in theirs.items()
        for field, value in row.items()
        if ours[key].get(field) != value
    ]


def tabs_behind(tabs: Iterable[LiveTab], seqs: dict[Any, dict[str, int]]) -> list[str]:
    return [
        f"{tab.name}: {tab.state.last_seq} (resyncing {sorted(tab.state.resyncing)})"
        for tab in tabs
        if not (tab.live and tab.state.last_seq == seqs[tab.user])
    ]
