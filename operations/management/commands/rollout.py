"""`manage.py rollout FLAG --percent N | --everyone | --off | --users … | --groups … | --status`."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.selectors import live_numbers
from rollout.gate import cohort_count
from rollout.services import (
    FlagState,
    RolloutError,
    flag_state_get,
    rollout_set_everyone,
    rollout_set_groups,
    rollout_set_percent,
    rollout_set_users,
)


def _percent(value: str) -> Decimal:
    try:
        percent = Decimal(value)
    except InvalidOperation as error:
        raise CommandError(f"--percent takes a number from 0 to 100, not {value!r}") from error
    if not percent.is_finite() or not 0 <= percent <= 100 or percent != round(percent, 1):
        raise CommandError(f"--percent takes 0 to 100 with at most one decimal, not {value}")
    return percent


class Command(BaseCommand):
    help = (
        "Change or show a rollout flag. Works from any process of a deployment: open sockets "
        "in every server follow within 5 seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("flag", help="the flag, e.g. realtime_portfolio")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--percent", type=_percent, help="roll out to N %% of users")
        action.add_argument("--everyone", action="store_true", help="on for every user")
        action.add_argument("--off", action="store_true", help="the kill switch: off for all")
        action.add_argument("--users", nargs="*", metavar="NAME", help="set the user whitelist")
        action.add_argument("--groups", nargs="*", metavar="NAME", help="set the group whitelist")
        action.add_argument("--status", action="store_true", help="show the flag and its cohort")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["flag"]
        try:
            if options["percent"] is not None:
                state = rollout_set_percent(name=name, percent=options["percent"])
            elif options["everyone"]:
                state = rollout_set_everyone(name=name, on=True)
            elif options["off"]:
                state = rollout_set_everyone(name=name, on=False)
            elif options["users"] is not None:
                state = rollout_set_users(name=name, usernames=options["users"])
            elif options["groups"] is not None:
                state = rollout_set_groups(name=name, group_names=options["groups"])
            else:
                state = flag_state_get(name)
        except RolloutError as error:
            raise CommandError(str(error)) from error
        self._print(state, with_live=bool(options["status"]))

    def _print(self, state: FlagState, *, with_live: bool) -> None:
        inside, total = cohort_count(state.name)
        percent = "-" if state.percent is None else f"{state.percent}%"
        lines = [
            f"flag:     {state.name}",
            f"mode:     {state.mode}  (everyone={state.everyone}, percent={percent})",
            f"users:    {', '.join(state.users) or '-'}",
            f"groups:   {', '.join(state.groups) or '-'}",
            f"cohort:   {inside} of {total} users",
        ]
        if with_live:
            lines.extend(f"{key + ':':<9} {value}" for key, value in live_numbers().items())
        self.stdout.write("\n".join(lines) + "\n", ending="")
