"""The rollout gate: is the live stream on for this user? (django-waffle flag)."""

from typing import Any

from waffle import get_waffle_flag_model

from realtime.conf import ROLLOUT_FLAG


def realtime_enabled_for(user: Any) -> bool:
    """Evaluated the same way for the page and the socket; blocking (ORM and cache)."""
    flag = get_waffle_flag_model().get(ROLLOUT_FLAG)
    return bool(flag.is_active_for_user(user))
