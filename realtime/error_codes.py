"""The codes of `error` frames and of socket closes on /ws/portfolio, with what each means."""

from dataclasses import dataclass
from enum import StrEnum

from realtime.conf import (
    CLIENT_IDLE_TIMEOUT_SECONDS,
    MAX_INBOUND_FRAME_BYTES,
    MAX_INBOUND_FRAMES_PER_SECOND,
    MAX_INBOUND_JSON_DEPTH,
    MAX_SOCKET_BACKLOG_BYTES,
    RATE_LIMIT_STRIKES_BEFORE_CLOSE,
    CloseCode,
)


class ErrorCode(StrEnum):
    """The `code` of an `error` frame; tests check the consumer sends no other."""

    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_CHANNEL = "unknown_channel"
    MESSAGE_TOO_LARGE = "message_too_large"
    UNSUPPORTED_FRAME = "unsupported_frame"
    RATE_LIMITED = "rate_limited"
    NO_ACCOUNT = "no_account"
    SNAPSHOT_FAILED = "snapshot_failed"
    FEATURE_DISABLED = "feature_disabled"
    LOGGED_OUT = "logged_out"
    HEARTBEAT_TIMEOUT = "heartbeat_timeout"
    UNAVAILABLE = "unavailable"
    SLOW_CONSUMER = "slow_consumer"
    SERVER_RESTART = "server_restart"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class ErrorCodeInfo:
    meaning: str
    # The close that follows the frame at once; None: the socket stays open.
    close_code: int | None = None


ERROR_CODES: dict[ErrorCode, ErrorCodeInfo] = {
    ErrorCode.INVALID_JSON: ErrorCodeInfo("The frame is not valid JSON."),
    ErrorCode.INVALID_MESSAGE: ErrorCodeInfo(
        'Not an object with a known "type", a field is missing or invalid, or the JSON is '
        f"nested deeper than {MAX_INBOUND_JSON_DEPTH} levels."
    ),
    ErrorCode.UNKNOWN_CHANNEL: ErrorCodeInfo("subscribe/unsubscribe named an unknown channel."),
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCodeInfo(
        f"The frame is over {MAX_INBOUND_FRAME_BYTES} bytes."
    ),
    ErrorCode.UNSUPPORTED_FRAME: ErrorCodeInfo("A binary frame; only JSON text frames are read."),
    ErrorCode.RATE_LIMITED: ErrorCodeInfo(
        f"Over {MAX_INBOUND_FRAMES_PER_SECOND} frames a second; the rest of that second's "
        f"frames are dropped unanswered. When it happens {RATE_LIMIT_STRIKES_BEFORE_CLOSE} "
        f"seconds in a row, the socket closes with {CloseCode.POLICY_VIOLATION} after this error."
    ),
    ErrorCode.NO_ACCOUNT: ErrorCodeInfo("The user has no brokerage account to stream."),
    ErrorCode.SNAPSHOT_FAILED: ErrorCodeInfo(
        "The snapshot could not be read; the subscription was not made. Subscribe again later."
    ),
    ErrorCode.FEATURE_DISABLED: ErrorCodeInfo(
        "Live updates are off for this user (rollout flag); poll the REST API instead.",
        CloseCode.FEATURE_DISABLED,
    ),
    ErrorCode.LOGGED_OUT: ErrorCodeInfo(
        "The session ended: logged out, deleted, the password changed, or the user deactivated.",
        CloseCode.LOGGED_OUT,
    ),
    ErrorCode.HEARTBEAT_TIMEOUT: ErrorCodeInfo(
        f"No frame from the client for {CLIENT_IDLE_TIMEOUT_SECONDS:g} s.",
        CloseCode.HEARTBEAT_TIMEOUT,
    ),
    ErrorCode.UNAVAILABLE: ErrorCodeInfo(
        "The channel layer (Redis) is unavailable; reconnect with backoff.",
        CloseCode.TRY_AGAIN_LATER,
    ),
    ErrorCode.SLOW_CONSUMER: ErrorCodeInfo(
        f"The client read too slowly: over {MAX_SOCKET_BACKLOG_BYTES // 1024} KiB were waiting "
        "for it. Frames not yet sent are dropped; reconnect for a fresh snapshot.",
        CloseCode.SLOW_CONSUMER,
    ),
    ErrorCode.SERVER_RESTART: ErrorCodeInfo(
        "The server is stopping (deploy, restart); reconnect after a short random delay.",
        CloseCode.SERVER_RESTART,
    ),
    ErrorCode.INTERNAL_ERROR: ErrorCodeInfo(
        "The server failed handling this socket; reconnect.", CloseCode.INTERNAL_ERROR
    ),
}


@dataclass(frozen=True)
class CloseCodeInfo:
    meaning: str
    reconnect: bool


CLOSE_CODES: dict[int, CloseCodeInfo] = {
    CloseCode.NORMAL: CloseCodeInfo("Normal closure.", reconnect=True),
    CloseCode.POLICY_VIOLATION: CloseCodeInfo(
        "Flooding: the frame rate stayed over the limit (after `rate_limited` errors).",
        reconnect=True,
    ),
    CloseCode.INTERNAL_ERROR: CloseCodeInfo(
        "The server failed unexpectedly (error `internal_error`).", reconnect=True
    ),
    CloseCode.SERVER_RESTART: CloseCodeInfo(
        "The server is restarting (deploy; error `server_restart`, close reason "
        "`server restarting; reconnect`); reconnect.",
        reconnect=True,
    ),
    CloseCode.TRY_AGAIN_LATER: CloseCodeInfo(
        "The channel layer is unavailable (error `unavailable`).", reconnect=True
    ),
    CloseCode.HEARTBEAT_TIMEOUT: CloseCodeInfo(
        f"No client frame for {CLIENT_IDLE_TIMEOUT_SECONDS:g} s (error `heartbeat_timeout`).",
        reconnect=True,
    ),
    CloseCode.SLOW_CONSUMER: CloseCodeInfo(
        "The client read too slowly: too many frames or bytes waited for it "
        "(error `slow_consumer`).",
        reconnect=True,
    ),
    CloseCode.LOGGED_OUT: CloseCodeInfo(
        "The session ended (error `logged_out`): logout, password change, deactivation; "
        "sign in again.",
        reconnect=False,
    ),
    CloseCode.FEATURE_DISABLED: CloseCodeInfo(
        "Live updates are off for this user (error `feature_disabled`); poll REST.",
        reconnect=False,
    ),
}


def close_code_names() -> dict[int, str]:
    """CloseCode's constants by value: {4008: "SLOW_CONSUMER", ...}."""
    return {
        value: name
        for name, value in vars(CloseCode).items()
        if name.isupper() and isinstance(value, int)
    }
