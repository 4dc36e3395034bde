"""Inbound frames nested too deep are refused before json.loads can recurse into them."""

import json

import pytest

from realtime.conf import MAX_INBOUND_JSON_DEPTH
from realtime.protocol import FrameError, nesting_exceeds, parse_client_frame


def test_nesting_depth_is_counted_outside_strings() -> None:
    limit = MAX_INBOUND_JSON_DEPTH
    assert not nesting_exceeds("[" * limit + "]" * limit, limit)
    assert nesting_exceeds("[" * (limit + 1) + "]" * (limit + 1), limit)
    assert nesting_exceeds('{"a":' * (limit + 1), limit)  # unbalanced still counts
    brackets_in_text = json.dumps({"type": "ping", "pad": "[" * 500 + '\\"{' * 100})
    assert not nesting_exceeds(brackets_in_text, limit)
    assert not nesting_exceeds('{"type": "subscribe", "channels": ["orders"]}', limit)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1000 + "]" * 1000,  # 2 KB: json.loads raised RecursionError at this depth
        '{"type": "subscribe", "channels": ' + "[" * 40 + "]" * 40 + "}",
        "[" * 2000,  # not even valid JSON
    ],
)
def test_deep_frames_are_an_invalid_message(text: str) -> None:
    result = parse_client_frame(text, None)
    assert result == FrameError(
        "invalid_message", f"The frame is nested deeper than {MAX_INBOUND_JSON_DEPTH} levels."
    )


def test_size_is_checked_before_depth() -> None:
    result = parse_client_frame("[" * 5000, None)
    assert isinstance(result, FrameError)
    assert result.code == "message_too_large"


def test_shallow_frames_parse_as_before() -> None:
    message = parse_client_frame('{"type": "subscribe", "channels": ["orders"]}', None)
    assert not isinstance(message, FrameError)
    assert message.type == "subscribe"
