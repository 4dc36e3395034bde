"""Login throttling (django-axes): 10 failures lock one username from one address for 15 minutes."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # make_user's default
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Sixty-odd password checks per module: PBKDF2 would make them the slow part.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _login(client: Client, username: str, password: str, ip: str, path: str = LOGIN) -> int:
    response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)
    return int(response.status_code)


def _fail(client: Client, username: str, ip: str, times: int) -> None:
    for _ in range(times):
        # The form comes back (200) with its error while the pair is not locked yet.
        assert _login(client, username, "wrong", ip) == 200


def _lock_out(client: Client, username: str, ip: str) -> None:
    _fail(client, username, ip, 9)
    # The tenth failure is answered with the lockout itself.
    assert _login(client, username, "wrong", ip) == 429


def test_the_limit_is_ten_failures_for_fifteen_minutes_by_username_and_address():
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_nine_failures_then_the_right_password_logs_in():
    make_user("trader")
    client = Client()
    _fail(client, "trader", "203.0.113.7", 9)

    assert _login(client, "trader", PASSWORD, "203.0.113.7") == 302
    # A success clears the count.
    assert not AccessAttempt.objects.filter(username="trader").exists()


def test_the_tenth_failure_locks_the_pair_out_even_with_the_right_password():
    make_user("trader")
    client = Client()
    _lock_out(client, "trader", "203.0.113.7")

    assert _login(client, "trader", PASSWORD, "203.0.113.7") == 429


def test_the_lockout_keeps_other_addresses_and_other_users_out_of_it():
    make_user("trader")
    make_user("other")
    client = Client()
    _lock_out(client, "trader", "203.0.113.7")

    assert _login(Client(), "trader", PASSWORD, "198.51.100.2") == 302
    assert _login(Client(), "other", PASSWORD, "203.0.113.7") == 302


def test_the_lockout_ends_after_fifteen_minutes():
    make_user("trader")
    _lock_out(Client(), "trader", "203.0.113.7")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert _login(Client(), "trader", PASSWORD, "203.0.113.7") == 302


def test_the_admin_login_counts_and_locks_too():
    make_user("trader")
    client = Client()
    _lock_out(client, "trader", "203.0.113.7")

    assert _login(client, "trader", PASSWORD, "203.0.113.7", path="/admin/login/") == 429
