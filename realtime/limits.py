"""Inbound frame rate limiting for one socket: a fixed one-second window with strikes."""

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"  # first frame over the limit in this window: answer with an error
    DROP = "drop"  # further frames over the limit: ignored without an answer
    CLOSE = "close"  # over the limit in too many windows in a row: close the socket


@dataclass
class FrameRateLimiter:
    max_frames_per_second: int
    strikes_before_close: int
    _window_start: float = float("-inf")
    _count: int = 0
    _strikes: int = 0

    def check(self, now: float) -> Verdict:
        if now - self._window_start >= 1.0:
            # A strike run ends with a window under the limit (or a quiet second).
            if self._count <= self.max_frames_per_second or now - self._window_start >= 2.0:
                self._strikes = 0
            self._window_start, self._count = now, 0
        self._count += 1
        if self._count <= self.max_frames_per_second:
            return Verdict.OK
        if self._count > self.max_frames_per_second + 1:
            return Verdict.DROP
        self._strikes += 1
        return Verdict.CLOSE if self._strikes >= self.strikes_before_close else Verdict.WARN
