"""Who is in a rollout: one user (page, REST, socket) or many at once (open sockets)."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from waffle import get_waffle_flag_model

from rollout.cohort import in_percent
from rollout.flags import REALTIME_PORTFOLIO
from rollout.models import Flag


def flag_get(name: str = REALTIME_PORTFOLIO) -> Flag:
    """The flag through waffle's cache (an unsaved, off flag when it does not exist)."""
    flag = get_waffle_flag_model().get(name)
    if not isinstance(flag, Flag):
        raise TypeError("WAFFLE_FLAG_MODEL must be rollout.Flag")
    return flag


def realtime_enabled_for(user: Any) -> bool:
    """The one answer the page, REST and the socket give; blocking (cache, maybe the ORM)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(flag_get(REALTIME_PORTFOLIO).is_active_for_user(user))


def enabled_user_ids(user_ids: Iterable[int], name: str = REALTIME_PORTFOLIO) -> set[int]:
    """The subset of `user_ids` inside the rollout, in two queries whatever their number.

    The same rules as `Flag.is_active_for_user`, evaluated over rows instead of one user
    at a time, for re-checking every open socket of a process after a change.
    """
    wanted = set(user_ids)
    flag = flag_get(name)
    if not wanted or flag.pk is None or flag.everyone is False:
        return set()
    users = get_user_model().objects.filter(pk__in=wanted)
    if flag.everyone:
        return set(users.values_list("pk", flat=True))
    rows = users.values_list("pk", "is_staff", "is_superuser")
    whitelisted_users = flag._get_user_ids()
    group_ids = flag._get_group_ids()
    in_groups: set[int] = set()
    if group_ids:
        memberships = get_user_model().groups.through.objects.filter(
            user_id__in=wanted, group_id__in=group_ids
        )
        in_groups = set(memberships.values_list("user_id", flat=True))
    enabled = set()
    for pk, is_staff, is_superuser in rows:
        if (
            flag.authenticated
            or (flag.staff and is_staff)
            or (flag.superusers and is_superuser)
            or pk in whitelisted_users
            or pk in in_groups
            or in_percent(flag.name, pk, flag.percent)
        ):
            enabled.add(pk)
    return enabled


def cohort_count(name: str = REALTIME_PORTFOLIO) -> tuple[int, int]:
    """(users inside the rollout, all users)."""
    user_ids = list(get_user_model().objects.values_list("pk", flat=True))
    return len(enabled_user_ids(user_ids, name)), len(user_ids)
