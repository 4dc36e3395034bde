"""When a throttled channel's next frame may leave: a window after the last, on either clock."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LastFrame:
    """The last frame a throttle let out on a channel."""

    # When it left, on the event loop's monotonic clock.
    sent_at: float
    # When its newest change happened, in epoch seconds (the frame's changed_at).
    changed_at: float


def window_wait(last: LastFrame | None, now: float, changed_at: float, window: float) -> float:
    """Seconds until a change made at `changed_at` may leave; 0 or less means now.

    The window ends a window after the last frame left, or once the new change is a window
    newer than the last frame's, whichever comes first. On the send clock alone, a delay
    added to one frame (a slow tick, a busy loop) was kept by every frame after it: a
    market that changes once a window stayed that much late for as long as it ran. The
    change clock lets the next tick's frame catch up, and frames still leave no more often
    than their changes are a window apart.
    """
    if last is None:
        return 0.0
    by_send = last.sent_at + window - now
    by_change = last.changed_at + window - changed_at
    return min(by_send, by_change)
