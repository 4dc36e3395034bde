"""Small patches of daphne 4.2 (Twisted + autobahn) for what ASGI cannot express there.

1. **Close codes.** daphne closes with autobahn's `sendClose`, which accepts only 1000 and
   3000-4999 (the browser API's rule for *clients*), so `close(1008)`, 1011, 1012 and 1013
   raised inside the app and reached the client as 1011 with a traceback. autobahn itself
   lists 1000-1003 and 1007-1013 as sendable (`CLOSE_STATUS_CODES_ALLOWED`); the close now
   goes through `sendCloseFrame` for those, with the ASGI `reason`, which daphne dropped.
   The server also waits CLOSE_HANDSHAKE_TIMEOUT_SECONDS (not autobahn's 1 s) for the
   client's answer, so a client slow to read still reaches the close code.
2. **Transport backlog.** Under daphne `send()` never waits: Twisted buffers whatever the
   client has not read, without bound. Each WebSocket scope gets a callable under
   `extensions[TRANSPORT_BACKLOG_EXTENSION]` returning those bytes (Twisted's private
   `dataBuffer`/`offset`/`_tempDataLen`), or None when the transport is not a plain TCP one.
   Beside it, `extensions[SEND_NOW_EXTENSION]`: a synchronous text send (daphne's own checks,
   then autobahn's `sendMessage`), so that a socket's outbox writes a frame without a
   coroutine and a sender task per frame: `await send(...)` under daphne never waits anyway.
3. **Graceful shutdown.** On SIGTERM/SIGINT daphne cancels every application at once and the
   browsers see 1006. Before that now, `realtime.draining.drain()` closes every socket with
   1012 in batches and waits (bounded) for the clients to answer.
4. **Shared options.** autobahn copies its 29 protocol options from the factory into every
   connection's `__dict__` (those the protocol does not have yet). daphne's one factory
   gives them all the same values, so they are set once on the protocol class instead:
   every socket's attribute dict stays small (tests/load/bench_memory.py).
5. **Debug lines formatted only when logged.** autobahn pretty-prints those 29 options (and
   the transport's details) for a debug line on every connection, whether or not debug is
   logged: about 0.3 ms of a connection's CPU in a reconnect storm's profile. Its `pformat`
   now hands the log a value that is formatted if the line is written.

6. **A lean input queue.** daphne gives each connection an `asyncio.Queue` for what the
   client sends (about 3 KiB empty); a socket's is a `realtime.input_queue.InputQueue`
   (`put_nowait` and `get`, all daphne calls). HTTP requests keep daphne's.

`install()` patches only when daphne's server is already imported (`manage.py serve`, the
`daphne` command, `runserver`), and only the versions below; anything else keeps daphne's
own behaviour and logs why. tests/integration checks every patch over a real daphne.
"""

import asyncio
import logging
import pprint
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from realtime.conf import CLOSE_HANDSHAKE_TIMEOUT_SECONDS
from realtime.input_queue import InputQueue

logger = logging.getLogger(__name__)

TRANSPORT_BACKLOG_EXTENSION = "portfolio.transport_backlog"
SEND_NOW_EXTENSION = "portfolio.send_text_now"
SUPPORTED_DAPHNE = ("4.2.",)
# autobahn versions whose websocket.protocol calls pformat only for log lines (and Timings).
SUPPORTED_AUTOBAHN = ("24.", "25.", "26.")
# What a close reason may hold: a close frame's payload is at most 125 bytes, 2 for the code.
MAX_CLOSE_REASON_BYTES = 123

_installed = False


def install() -> bool:
    """Patch daphne once; whether the patches are in place."""
    global _installed
    if _installed:
        return True
    if "daphne.server" not in sys.modules:
        return False  # not served by daphne (tests with WebsocketCommunicator, uvicorn)
    import daphne
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol

    if not daphne.__version__.startswith(SUPPORTED_DAPHNE):
        logger.warning(
            "daphne %s is not one realtime.daphne_shim was tested with (%s): close codes "
            "1008/1012/1013 arrive as 1011, slow clients are not detected, shutdown drops "
            "sockets without a close frame",
            daphne.__version__,
            ", ".join(SUPPORTED_DAPHNE),
        )
        return False
    _patch_close(WebSocketProtocol)
    _patch_scope(Server)
    _patch_shutdown(Server)
    _patch_options(WebSocketProtocol)
    _patch_debug_formatting()
    _installed = True
    return True


# --- 1. Close codes --------------------------------------------------------------------------


def close_frame_allowed(protocol: Any, code: int) -> bool:
    """1000, 3000-4999 (autobahn's sendClose) or a code autobahn itself may send (1008...)."""
    return code == 1000 or 3000 <= code <= 4999 or code in protocol.CLOSE_STATUS_CODES_ALLOWED


def send_close(protocol: Any, code: int | None, reason: str | None) -> None:
    """What daphne's serverClose does, for every code autobahn allows, with the reason."""
    from autobahn.util import encode_truncate

    code = 1000 if code is None else int(code)
    if not close_frame_allowed(protocol, code):
        raise ValueError(f"close code {code} may not be sent by a server")
    reason_bytes = encode_truncate(reason, MAX_CLOSE_REASON_BYTES) if reason else None
    # Per protocol instance: only closes the application asked for wait longer.
    protocol.closeHandshakeTimeout = max(
        protocol.closeHandshakeTimeout, CLOSE_HANDSHAKE_TIMEOUT_SECONDS
    )
    protocol.sendCloseFrame(code=code, reasonUtf8=reason_bytes, isReply=False)


def _patch_close(protocol_class: Any) -> None:
    original = protocol_class.handle_reply

    def handle_reply(self: Any, message: dict[str, Any]) -> None:
        if message.get("type") == "websocket.close" and self.state != self.STATE_CONNECTING:
            send_close(self, message.get("code"), message.get("reason"))
            return
        original(self, message)

    protocol_class.handle_reply = handle_reply


# --- 2. Transport backlog ------------------------------------------------------------------


def transport_backlog(protocol: Any) -> int | None:
    """Bytes written to the protocol's TCP transport and not yet taken by the kernel."""
    transport: Any = getattr(protocol, "transport", None)
    buffered = getattr(transport, "dataBuffer", None)
    if buffered is None:
        return None  # TLS or another transport: unknown, the frame-count limit still holds
    return len(buffered) - int(transport.offset) + int(transport._tempDataLen)


def send_text_now(server: Any, protocol: Any, text: str) -> bool:
    """`await send({"type": "websocket.send", "text": text})` under daphne, synchronously:
    False (and nothing sent) when the connection is gone or no longer open."""
    details = server.connections.get(protocol)
    if details is None or details.get("disconnected") or protocol.state != protocol.STATE_OPEN:
        return False
    protocol.sendMessage(text.encode("utf-8"), False)
    return True


def _patch_scope(server_class: Any) -> None:
    original = server_class.create_application

    def create_application(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") != "websocket":
            return original(self, protocol, scope)
        backlog: Callable[[], int | None] = partial(transport_backlog, protocol)
        send_now: Callable[[str], bool] = partial(send_text_now, self, protocol)
        extensions = scope.setdefault("extensions", {})
        extensions[TRANSPORT_BACKLOG_EXTENSION] = backlog
        extensions[SEND_NOW_EXTENSION] = send_now
        return create_websocket_application(self, protocol, scope)

    server_class.create_application = create_application


def create_websocket_application(server: Any, protocol: Any, scope: dict[str, Any]) -> Any:
    """daphne 4.2's Server.create_application with a lean input queue (6. below)."""
    assert "application_instance" not in server.connections[protocol]  # noqa: S101 - daphne's
    input_queue = InputQueue()
    scope.setdefault("asgi", {"version": "3.0"})
    application_instance = server.application(
        scope=scope, receive=input_queue.get, send=partial(server.handle_reply, protocol)
    )
    if protocol not in server.connections:
        return None
    server.connections[protocol]["application_instance"] = asyncio.ensure_future(
        application_instance, loop=asyncio.get_event_loop()
    )
    return input_queue


# --- 3. Graceful shutdown ------------------------------------------------------------------


def cancel_applications(server: Any) -> Any:
    """daphne's kill_all_applications, minus its KeyError on a connection whose application
    already finished (an idle keep-alive HTTP connection): cancel what still runs."""
    from twisted.internet import defer

    running = [details.get("application_instance") for details in server.connections.values()]
    pending = [task for task in running if task is not None and not task.done()]
    for task in pending:
        task.cancel()
    logger.info("cancelled %d application instance(s) still running", len(pending))
    return defer.Deferred.fromFuture(asyncio.gather(*pending, return_exceptions=True))


def _patch_shutdown(server_class: Any) -> None:
    from twisted.internet import defer

    from realtime import draining
    from realtime.layers import wait_for_cleanups

    async def drain() -> None:
        try:
            await draining.drain()
        except Exception:
            logger.exception("draining the sockets failed; cancelling them")

    def kill_all_applications(self: Any) -> Any:
        # A "before shutdown" trigger: the reactor waits for the Deferred it returns.
        drained = defer.Deferred.fromFuture(asyncio.ensure_future(drain()))
        drained.addBoth(lambda _: cancel_applications(self))
        # The cancelled consumers' Redis unsubscribes, so none is cut off mid-way.
        drained.addBoth(
            lambda _: defer.Deferred.fromFuture(asyncio.ensure_future(wait_for_cleanups(1.0)))
        )
        return drained

    server_class.kill_all_applications = kill_all_applications


# --- 4. Shared options ---------------------------------------------------------------------


def _patch_options(protocol_class: Any) -> None:
    original = protocol_class._connectionMade

    def connection_made(self: Any) -> None:
        options = {name: getattr(self.factory, name) for name in self.CONFIG_ATTRS}
        shared = protocol_class.__dict__.get("_shared_options")
        if shared is None:
            # The first connection: its factory's options become the class's defaults, which
            # autobahn then finds (hasattr) and no longer copies per connection. Each wrapped
            # in staticmethod: an option holding a function must not become a bound method.
            for name, value in options.items():
                setattr(protocol_class, name, staticmethod(value))
            protocol_class._shared_options = options
        elif shared != options:
            # Another factory with other options (a second server in this process): per
            # connection, as autobahn itself does.
            for name, value in options.items():
                setattr(self, name, value)
        original(self)

    protocol_class._connectionMade = connection_made


# --- 5. Debug lines formatted only when logged ------------------------------------------------


class PrettyWhenLogged:
    """`pprint.pformat(value)`, computed when a log line's format reaches it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return pprint.pformat(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _patch_debug_formatting() -> None:
    from importlib.metadata import version

    from autobahn.websocket import protocol

    if not version("autobahn").startswith(SUPPORTED_AUTOBAHN):
        return  # eager formatting costs CPU, nothing else
    protocol.pformat = PrettyWhenLogged  # type: ignore[attr-defined,assignment]

    def timings_str(self: Any) -> str:
        return pprint.pformat(self._timings)

    # The one caller that must return a str.
    protocol.Timings.__str__ = timings_str  # type: ignore[method-assign]
