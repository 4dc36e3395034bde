"""The AsyncAPI 3.0 document of /ws/portfolio, from the event schemas and protocol constants."""

import inspect
import textwrap
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from pydantic import BaseModel

from realtime.asyncapi.examples import EXAMPLES
from realtime.asyncapi.payloads import (
    SCHEMA_REF,
    client_frame_models,
    component_schemas,
    frame_type,
    server_frame_models,
)
from realtime.conf import (
    CHANNELS,
    CLIENT_IDLE_TIMEOUT_SECONDS,
    HEARTBEAT_INTERVAL_SECONDS,
    MAX_INBOUND_FRAME_BYTES,
    MAX_INBOUND_FRAMES_PER_SECOND,
    POSITION_BATCH_WINDOW_SECONDS,
)
from realtime.error_codes import CLOSE_CODES, ERROR_CODES, close_code_names
from realtime.events import SCHEMA_VERSION, ErrorMessage

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT_PATH = Path(settings.BASE_DIR) / "docs" / "api" / "asyncapi.yaml"
REGENERATE = ".venv/bin/python manage.py export_asyncapi"
CHANNEL_KEY = "portfolio"
ADDRESS = "/ws/portfolio"
SECURITY_SCHEME = "sessionCookie"
RECEIVE_OPERATION = "receiveClientFrame"
SEND_OPERATION = "sendServerFrame"


def build_document() -> dict[str, Any]:
    """The whole document as a dict, in the order it is written."""
    client, server = client_frame_models(), server_frame_models()
    messages = {m.__name__: _message(m, "client → server") for m in client}
    messages |= {m.__name__: _message(m, "server → client") for m in server}
    servers = _servers()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Portfolio Stream live updates",
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": _overview(),
        },
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": {CHANNEL_KEY: _channel(list(messages), list(servers))},
        "operations": {
            RECEIVE_OPERATION: _operation("receive", client, "Frames the client sends."),
            SEND_OPERATION: _operation("send", server, "Frames the server sends."),
        },
        "components": {
            "schemas": component_schemas(),
            "messages": messages,
            "securitySchemes": {SECURITY_SCHEME: _security_scheme()},
        },
    }


def render_yaml(document: dict[str, Any]) -> str:
    """Stable YAML: keys in build order, long text as literal blocks."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # repeat shared values instead of writing &id001 anchors


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


# --- Parts -----------------------------------------------------------------------------------


def _overview() -> str:
    channels = ", ".join(f"`{c}`" for c in CHANNELS)
    paragraphs = [
        "The live stream of the signed-in trader's positions, orders and account: one "
        f"WebSocket, `{ADDRESS}`, carrying JSON text frames, each an object whose `type` "
        "names it.",
        f"**Handshake.** `GET {ADDRESS}` with `Upgrade: websocket`, the Django session cookie "
        "and an `Origin` on one of the deployment's hosts (`DJANGO_ALLOWED_HOSTS`). Without a "
        "session, or from another origin, the handshake is refused with HTTP 403. The upgrade "
        "request is also in the REST API's document, docs/api/openapi.yaml.",
        f"**Subscribing.** Send `subscribe` with any of {channels}. The server answers "
        "`subscribed`, then one `snapshot` per channel, then every change as "
        "`position_update`, `order_update`, `trade_executed` or `account_update`. Position "
        f"updates are throttled to one `batch` per {POSITION_BATCH_WINDOW_SECONDS:g} s window "
        "per socket (newest value per symbol); a trade's changes go out at once.",
        "**Ordering.** Each channel counts its own `seq`. A snapshot holds every change up to "
        "its `seq`; drop events at or below it. An event, or a batch's `from_seq`, past the "
        "last `seq` plus one means frames were lost: subscribe to that channel again for a "
        "fresh snapshot.",
        f"**Heartbeat and limits.** The server sends `ping` every "
        f"{HEARTBEAT_INTERVAL_SECONDS:g} s. Any client frame proves the client alive; after "
        f"{CLIENT_IDLE_TIMEOUT_SECONDS:g} s without one the server closes the socket. Client "
        f"frames are at most {MAX_INBOUND_FRAME_BYTES} bytes, at most "
        f"{MAX_INBOUND_FRAMES_PER_SECOND} a second. A bad frame is answered with an `error` and "
        "the socket stays open, except for the codes that close it (see `error`).",
        "**Values.** Money, prices, quantities and ratios are decimal strings, never numbers; "
        "times are ISO-8601 in UTC. The server sends exactly the fields documented here; "
        "clients should ignore frame types and fields they do not know.",
        f"Schema version {SCHEMA_VERSION}. Generated from `realtime/events/schemas.py` by "
        "`python manage.py export_asyncapi`; do not edit by hand.",
    ]
    return "\n\n".join(textwrap.fill(p, 92) for p in paragraphs) + "\n"


def _servers() -> dict[str, Any]:
    security = [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}]
    return {
        "development": {
            "host": "127.0.0.1:8000",
            "protocol": "ws",
            "description": "`make run`: DEBUG, everything in one process.",
            "security": security,
        },
        "production": {
            "host": "{host}",
            "protocol": "wss",
            "description": "daphne processes behind the TLS proxy.",
            "variables": {
                "host": {
                    "description": "A host in DJANGO_ALLOWED_HOSTS.",
                    "examples": ["trade.example.com"],
                }
            },
            "security": security,
        },
    }


def _channel(message_names: list[str], server_names: list[str]) -> dict[str, Any]:
    names = close_code_names()
    rows = [
        f"| {code} | `{names[code]}` | {info.meaning} | {'yes' if info.reconnect else 'no'} |"
        for code, info in sorted(CLOSE_CODES.items())
    ]
    return {
        "address": ADDRESS,
        "title": "Portfolio stream",
        "description": "Both directions of the one socket. Close codes after the handshake "
        "(`realtime.conf.CloseCode`):\n\n"
        "| code | name | meaning | reconnect |\n|---|---|---|---|\n" + "\n".join(rows) + "\n",
        "servers": [{"$ref": f"#/servers/{name}"} for name in server_names],
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in message_names},
        "bindings": {"ws": {"method": "GET", "bindingVersion": "0.1.0"}},
        "x-close-codes": [
            {
                "code": code,
                "name": names[code],
                "meaning": info.meaning,
                "reconnect": info.reconnect,
            }
            for code, info in sorted(CLOSE_CODES.items())
        ],
    }


def _operation(action: str, models: list[type[BaseModel]], summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{CHANNEL_KEY}"},
        "summary": summary,
        "messages": [
            {"$ref": f"#/channels/{CHANNEL_KEY}/messages/{model.__name__}"} for model in models
        ],
    }


def _message(model: type[BaseModel], direction: str) -> dict[str, Any]:
    doc = inspect.cleandoc(model.__doc__ or "")
    if not doc:
        raise ValueError(f"{model.__name__} needs a docstring: it is the message's summary")
    summary, _, description = doc.partition("\n\n")
    examples = EXAMPLES.get(model)
    if not examples:
        raise ValueError(f"{model.__name__} needs an example in realtime/asyncapi/examples.py")
    message: dict[str, Any] = {
        "name": frame_type(model),
        "title": f"{frame_type(model)} ({direction})",
        "summary": " ".join(summary.split()),
        "contentType": "application/json",
        "payload": {"$ref": SCHEMA_REF.format(model=model.__name__)},
        "examples": [
            {"name": e.name, "summary": e.summary, "payload": e.payload()} for e in examples
        ],
    }
    if description:
        message["description"] = " ".join(description.split())
    if model is ErrorMessage:
        message |= _error_codes()
    return message


def _error_codes() -> dict[str, Any]:
    rows = [
        f"| `{code}` | {info.meaning} | {info.close_code or 'stays open'} |"
        for code, info in ERROR_CODES.items()
    ]
    return {
        "description": "Codes (`realtime.error_codes.ErrorCode`):\n\n"
        "| code | meaning | then closes with |\n|---|---|---|\n" + "\n".join(rows) + "\n",
        "x-error-codes": [
            {"code": code.value, "meaning": info.meaning, "closeCode": info.close_code}
            for code, info in ERROR_CODES.items()
        ],
    }


def _security_scheme() -> dict[str, Any]:
    return {
        "type": "httpApiKey",
        "name": settings.SESSION_COOKIE_NAME,
        "in": "cookie",
        "description": "The Django session cookie that signing in at /accounts/login/ sets; "
        "the browser sends it with the handshake. The handshake's `Origin` must be one of "
        "the deployment's hosts. Otherwise the upgrade is refused with HTTP 403.",
    }
