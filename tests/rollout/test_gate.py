"""The rollout gate: the same answer for page, REST, waffle's own API and the batch re-check."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase
from waffle import flag_is_active

from rollout.flags import REALTIME_PORTFOLIO
from rollout.gate import enabled_user_ids, realtime_enabled_for
from rollout.models import Flag
from tests.factories import make_account, make_user


def _flag(**fields: Any) -> Flag:
    flag = Flag.objects.get(name=REALTIME_PORTFOLIO)
    for name, value in fields.items():
        setattr(flag, name, value)
    flag.save()
    return flag


@pytest.mark.django_db
def test_the_migration_creates_the_flag_on_for_everyone() -> None:
    flag = Flag.objects.get(name=REALTIME_PORTFOLIO)
    assert flag.everyone is True


@pytest.mark.django_db
def test_page_rest_and_waffle_agree_for_every_user_at_half_rollout() -> None:
    _flag(everyone=None, percent=Decimal("50"))
    accounts = [make_account(f"user{i}") for i in range(24)]
    answers = []
    for account in accounts:
        user = account.user
        client = Client()
        client.force_login(user)
        rest = client.get("/api/portfolio/snapshot/").json()["realtime_enabled"]
        page = client.get("/portfolio/")
        request = RequestFactory().get("/")
        request.user = user
        via_waffle = flag_is_active(request, REALTIME_PORTFOLIO)
        gate = realtime_enabled_for(user)
        assert rest == gate == via_waffle, user.username
        assert page.context["realtime_enabled"] == gate
        answers.append(gate)
    # At 50 %, 24 users are not all on one side (a fixed hash, so this is deterministic).
    assert any(answers) and not all(answers)


@pytest.mark.django_db
def test_no_cookie_dice_roll_on_the_page() -> None:
    """Waffle's own percent sets a dwf_ cookie per browser; this flag never does."""
    _flag(everyone=None, percent=Decimal("50"))
    account = make_account("cookie")
    client = Client()
    client.force_login(account.user)
    response = client.get("/portfolio/")
    assert not [name for name in response.cookies if name.startswith("dwf_")]


@pytest.mark.django_db
def test_kill_switch_overrides_the_whitelist_and_superusers() -> None:
    user = make_user("vip")
    user.is_superuser = True
    user.save()
    flag = _flag(everyone=None, percent=None)
    flag.users.add(user)
    assert realtime_enabled_for(user)
    _flag(everyone=False)
    assert not realtime_enabled_for(user)
    assert enabled_user_ids([user.pk]) == set()


@pytest.mark.django_db
def test_group_whitelist() -> None:
    beta = Group.objects.create(name="beta")
    inside, outside = make_user("in"), make_user("out")
    inside.groups.add(beta)
    flag = _flag(everyone=None, percent=None, superusers=False)
    flag.groups.add(beta)
    assert realtime_enabled_for(inside) and not realtime_enabled_for(outside)
    assert enabled_user_ids([inside.pk, outside.pk]) == {inside.pk}


@pytest.mark.django_db
def test_anonymous_users_are_never_in() -> None:
    assert not realtime_enabled_for(AnonymousUser())
    assert not realtime_enabled_for(None)


class BatchAgreesWithOneByOne(HypothesisTestCase):
    """`enabled_user_ids` (open sockets' re-check) restates the rules; it must not drift."""

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    @given(
        everyone=st.sampled_from([None, True, False]),
        percent=st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=1)),
        staff=st.booleans(),
        superusers=st.booleans(),
        authenticated=st.booleans(),
        whitelist=st.sets(st.integers(min_value=0, max_value=7), max_size=3),
        grouped=st.sets(st.integers(min_value=0, max_value=7), max_size=3),
        staff_users=st.sets(st.integers(min_value=0, max_value=7), max_size=3),
    )
    def test_batch_equals_single(
        self,
        everyone: bool | None,
        percent: Decimal | None,
        staff: bool,
        superusers: bool,
        authenticated: bool,
        whitelist: set[int],
        grouped: set[int],
        staff_users: set[int],
    ) -> None:
        # No passwords: hashing eight of them per example would be most of the run.
        users = [get_user_model().objects.create(username=f"u{i}") for i in range(8)]
        for i in staff_users:
            users[i].is_staff = users[i].is_superuser = True
            users[i].save()
        beta = Group.objects.create(name="beta")
        for i in grouped:
            users[i].groups.add(beta)
        flag = _flag(
            everyone=everyone,
            percent=percent,
            staff=staff,
            superusers=superusers,
            authenticated=authenticated,
        )
        flag.users.set([users[i] for i in whitelist])
        flag.groups.set([beta])
        one_by_one = {u.pk for u in users if realtime_enabled_for(u)}
        assert enabled_user_ids([u.pk for u in users]) == one_by_one


@pytest.mark.django_db
def test_a_missing_flag_is_off_not_an_error() -> None:
    user = make_user("nobody")
    Flag.objects.filter(name=REALTIME_PORTFOLIO).delete()
    assert not realtime_enabled_for(user)
    assert enabled_user_ids([user.pk]) == set()
