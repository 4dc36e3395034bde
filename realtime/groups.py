"""Channel-layer group names: one group per user and channel, plus a control group."""


def channel_group(user_id: int, channel: str) -> str:
    """Where a user's events of one channel go: `portfolio.user.<id>.<channel>`."""
    return f"portfolio.user.{user_id}.{channel}"


def control_group(user_id: int) -> str:
    """Every socket of a user listens here for session revocations (logout, deactivation).

    Rollout changes do not come this way: each server process polls the flag
    (realtime/rollout_watch.py), so a lost message cannot keep a socket streaming.
    """
    return f"portfolio.user.{user_id}.control"
