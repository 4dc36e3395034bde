"""Sticky percentage cohorts: a stable hash of flag name and user id, in tenths of a percent."""

import hashlib
from decimal import Decimal

# Buckets of a tenth of a percent: waffle's percent has one decimal place.
BUCKETS = 1000


def user_bucket(flag_name: str, user_id: int) -> int:
    """The user's place in 0..999 for this flag; the same in every process and on every device.

    sha256, not hash(): Python salts str hashes per process. The flag name is part of the key
    so that each flag's 10 % is a different 10 % of the users.
    """
    digest = hashlib.sha256(f"{flag_name}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_percent(flag_name: str, user_id: int, percent: Decimal | None) -> bool:
    """Whether the user falls inside `percent` (0 to 100): raising it only adds users."""
    if not percent or percent <= 0:
        return False
    return user_bucket(flag_name, user_id) < percent * BUCKETS / 100
