"""Changing a rollout: percent, everyone (on, or off as the kill switch), the whitelist."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from rollout.models import Flag


class RolloutError(ValueError):
    """A rollout change that cannot be made (unknown user or group, percent out of range)."""


@dataclass(frozen=True)
class FlagState:
    name: str
    everyone: bool | None
    percent: Decimal | None
    users: tuple[str, ...]
    groups: tuple[str, ...]
    superusers: bool
    staff: bool

    @property
    def mode(self) -> str:
        """`on` (everyone), `off` (kill switch) or `rollout` (whitelist and percent)."""
        if self.everyone is True:
            return "on"
        if self.everyone is False:
            return "off"
        return "rollout"


def flag_state_get(name: str) -> FlagState:
    """The flag as stored (not cached): what an operator just set."""
    flag = Flag.objects.filter(name=name).first()
    if flag is None:
        return FlagState(name, False, None, (), (), False, False)
    return FlagState(
        name=flag.name,
        everyone=flag.everyone,
        percent=flag.percent,
        users=tuple(sorted(flag.users.values_list("username", flat=True))),
        groups=tuple(sorted(flag.groups.values_list("name", flat=True))),
        superusers=flag.superusers,
        staff=flag.staff,
    )


def _flag_for_update(name: str) -> Flag:
    flag: Flag
    flag, _ = Flag.objects.select_for_update().get_or_create(name=name)
    return flag


def _save(flag: Flag) -> None:
    flag.full_clean()
    flag.save()  # waffle's save flushes the shared cache on commit


@transaction.atomic
def rollout_set_percent(*, name: str, percent: Decimal) -> FlagState:
    """Roll out to `percent` of users (plus the whitelist); lifts the kill switch."""
    if not Decimal("0") <= percent <= Decimal("100"):
        raise RolloutError(f"percent must be between 0 and 100, got {percent}")
    flag = _flag_for_update(name)
    flag.everyone = True if percent == 100 else None
    flag.percent = percent
    _save(flag)
    return flag_state_get(name)


@transaction.atomic
def rollout_set_everyone(*, name: str, on: bool) -> FlagState:
    """On for every user, or off for every user (the kill switch: overrides the whitelist)."""
    flag = _flag_for_update(name)
    flag.everyone = on
    _save(flag)
    return flag_state_get(name)


@transaction.atomic
def rollout_set_users(*, name: str, usernames: Sequence[str]) -> FlagState:
    """The users the flag is always on for (unless killed); replaces the previous list."""
    users = list(get_user_model().objects.filter(username__in=usernames))
    missing = sorted(set(usernames) - {u.get_username() for u in users})
    if missing:
        raise RolloutError(f"no such user(s): {', '.join(missing)}")
    flag = _flag_for_update(name)
    flag.users.set(users)  # waffle flushes the cache on m2m_changed
    _save(flag)
    return flag_state_get(name)


@transaction.atomic
def rollout_set_groups(*, name: str, group_names: Sequence[str]) -> FlagState:
    """The groups the flag is always on for (unless killed); replaces the previous list."""
    groups = list(Group.objects.filter(name__in=group_names))
    missing = sorted(set(group_names) - {g.name for g in groups})
    if missing:
        raise RolloutError(f"no such group(s): {', '.join(missing)}")
    flag = _flag_for_update(name)
    flag.groups.set(groups)
    _save(flag)
    return flag_state_get(name)
