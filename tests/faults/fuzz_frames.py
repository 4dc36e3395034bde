"""Hypothesis strategies of client frames for /ws/portfolio, and what the protocol promises
for each (docs/architecture.md "WebSocket protocol", realtime/error_codes.py).

A frame is ("text", str) or ("bytes", bytes). `promise(frame)` is worked out from the
documented rules, not by calling the server's parser: binary -> `unsupported_frame`; over
4,096 bytes -> `message_too_large`; nested deeper than 32 -> `invalid_message`; not JSON ->
`invalid_json`; not an object with a known `type`, a missing, extra or invalid field ->
`invalid_message`; an unknown channel -> `unknown_channel`; a valid `subscribe` ->
`subscribed` and one snapshot per channel; `unsubscribe` -> `unsubscribed`; `ping` ->
`pong`; `pong` -> nothing. Where a frame breaks two rules either error is a clear answer.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

CHANNELS = ("positions", "orders", "account")
MAX_FRAME_BYTES = 4096
MAX_DEPTH = 32
# The error codes that leave the socket open (realtime/error_codes.py).
OPEN_ERROR_CODES = frozenset(
    {"invalid_json", "invalid_message", "unknown_channel", "message_too_large", "unsupported_frame"}
)

Frame = tuple[str, Any]


@dataclass(frozen=True)
class Promise:
    errors: frozenset[str] = frozenset()  # one error with one of these codes
    reply: str | None = None  # "pong", "subscribed", "unsubscribed" or nothing
    channels: tuple[str, ...] = field(default=())


def promise(frame: Frame) -> Promise:
    kind, data = frame
    if kind == "bytes":
        return Promise(frozenset({"unsupported_frame"}))
    if len(data.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        return Promise(frozenset({"message_too_large"}))
    try:
        value = json.loads(data)
    except RecursionError:
        return Promise(frozenset({"invalid_message"}))
    except ValueError:
        # Not JSON; when it also opens many brackets it may be refused as too deep first.
        deep = sum(data.count(b) for b in "[{") > MAX_DEPTH
        return Promise(frozenset({"invalid_json", "invalid_message"} if deep else {"invalid_json"}))
    if _depth(value) > MAX_DEPTH:
        return Promise(frozenset({"invalid_message"}))
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return Promise(frozenset({"invalid_message"}))
    kind = value["type"]
    if kind in ("subscribe", "unsubscribe"):
        wrong = set()
        channels = value.get("channels")
        if isinstance(channels, list) and any(c not in CHANNELS for c in channels):
            wrong.add("unknown_channel")
        if set(value) != {"type", "channels"} or not isinstance(channels, list):
            wrong.add("invalid_message")
        elif not 1 <= len(channels) <= len(CHANNELS):
            wrong.add("invalid_message")
        if wrong:
            return Promise(frozenset(wrong))
        assert isinstance(channels, list)
        return Promise(reply=f"{kind}d", channels=tuple(dict.fromkeys(channels)))
    if kind in ("ping", "pong") and set(value) == {"type"}:
        return Promise(reply="pong" if kind == "ping" else None)
    return Promise(frozenset({"invalid_message"}))


def _depth(value: Any) -> int:
    """How deep lists and objects nest (iteratively: the value may be ~1,000 deep)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack += [(child, depth) for child in children]
    return deepest


# --- Strategies ------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)
channel_names = st.sampled_from(CHANNELS)
channel_lists = st.lists(channel_names, min_size=1, max_size=3)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["subscribe", "unsubscribe", "ping", "pong", "shout", ""]) | scalars},
    optional={
        "channels": st.lists(
            channel_names | st.sampled_from(["secrets", "Orders", ""]) | scalars, max_size=5
        )
        | json_values,
        "extra": json_values,
    },
)


@st.composite
def encoded(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Frame:
    """A JSON value in one of several encodings, some of them broken on purpose."""
    text = json.dumps(
        draw(values),
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2])),
    )
    how = draw(st.sampled_from(["plain", "plain", "bom", "truncated", "trailing", "padded"]))
    if how == "bom":
        text = "\ufeff" + text
    elif how == "truncated":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif how == "trailing":
        text += draw(st.sampled_from(["x", "}", ",", " null"]))
    elif how == "padded":  # valid JSON, pushed towards and over the size limit
        text += " " * draw(st.integers(MAX_FRAME_BYTES - 200, MAX_FRAME_BYTES + 200))
    if draw(st.booleans()):
        return ("text", text)
    return ("bytes", text.encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), "replace"))


@st.composite
def nested(draw: st.DrawFn) -> Frame:
    depth = draw(st.integers(1, 3000) | st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = "[" * depth + "]" * depth if opener == "[" else opener * depth + "1" + closer * depth
    balanced = draw(st.booleans())
    return ("text", inner if balanced else inner[: len(inner) // 2])


wide_text = st.builds(
    lambda char, n: ("text", json.dumps({"type": "ping", "pad": char * n})),
    st.sampled_from(["a", "é", "€", "😀"]),
    st.integers(900, 4200),
)

frames = st.one_of(
    encoded(message_like),
    encoded(json_values),
    nested(),
    wide_text,
    st.text(max_size=300).map(lambda t: ("text", t)),
    st.binary(max_size=300).map(lambda b: ("bytes", b)),
)


def request(kind: str) -> st.SearchStrategy[tuple[str, Frame]]:
    """A well-formed subscribe or unsubscribe of random channels."""
    return channel_lists.map(
        lambda channels: ("frame", ("text", json.dumps({"type": kind, "channels": channels})))
    )


# Actions of one socket: fuzzed frames and well-formed requests, in any order.
actions = st.lists(
    st.one_of(
        frames.map(lambda frame: ("frame", frame)),
        request("subscribe"),
        request("unsubscribe"),
        st.just(("frame", ("text", '{"type":"ping"}'))),
    ),
    min_size=1,
    max_size=12,
)
