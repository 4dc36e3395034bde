"""Validation of inbound frames: every client frame is checked before anything acts on it."""

import json
from dataclasses import dataclass

from pydantic import ValidationError

from realtime.conf import CHANNELS, MAX_INBOUND_FRAME_BYTES
from realtime.events import ClientMessage, client_message_adapter


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
