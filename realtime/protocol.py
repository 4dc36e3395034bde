"""Validation of inbound frames: every client frame is checked before anything acts on it."""

import json
import re
from dataclasses import dataclass

from pydantic import ValidationError

from realtime.conf import CHANNELS, MAX_INBOUND_FRAME_BYTES, MAX_INBOUND_JSON_DEPTH
from realtime.events import ClientMessage, client_message_adapter

# A JSON string, escapes included: its brackets are text, not nesting.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


@dataclass(frozen=True)
class FrameError:
    code: str
    message: str


def parse_client_frame(text: str | None, binary: bytes | None) -> ClientMessage | FrameError:
    """The validated message, or the error to answer with (the socket stays open)."""
    if text is None:
        return FrameError("unsupported_frame", "Send JSON text frames, not binary ones.")
    size = len(text.encode())
    if size > MAX_INBOUND_FRAME_BYTES:
        return FrameError(
            "message_too_large",
            f"Frames are limited to {MAX_INBOUND_FRAME_BYTES} bytes; this one had {size}.",
        )
    if nesting_exceeds(text, MAX_INBOUND_JSON_DEPTH):
        # json.loads would recurse once per level: deep enough, that is a RecursionError.
        return FrameError(
            "invalid_message", f"The frame is nested deeper than {MAX_INBOUND_JSON_DEPTH} levels."
        )
    try:
        raw = json.loads(text)
    except ValueError:
        return FrameError("invalid_json", "The frame is not valid JSON.")
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return FrameError("invalid_message", 'A frame must be a JSON object with a "type".')
    channels = raw.get("channels")
    if raw["type"] in ("subscribe", "unsubscribe") and isinstance(channels, list):
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            return FrameError(
                "unknown_channel",
                f"Unknown channel(s) {unknown}; available: {', '.join(CHANNELS)}.",
            )
    try:
        return client_message_adapter.validate_python(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "frame"
        return FrameError("invalid_message", f"{where}: {first['msg']}")


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit`: a scan, no parsing."""
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
