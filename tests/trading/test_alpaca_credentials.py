"""`link_broker`: keys stored encrypted, checked with Alpaca, never shown back (admin)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.factories import make_account, make_user
from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    SECRET_KEY,
    fake_alpaca_fixture,
)
from trading.crypto import credentials_decrypt
from trading.models import BrokerAccount
from trading.services.credentials import alpaca_credentials_get
from trading.services.orders import order_submit


def link(*args: str) -> str:
    out = StringIO()
    call_command("link_broker", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def trader(db):
    return make_account("trader")


def test_keys_are_stored_encrypted_with_a_hint(trader, fake_alpaca):
    fake_alpaca.add_account(KEY_ID, SECRET_KEY)

    output = link("trader", "alpaca", "--key-id", KEY_ID, "--secret-key", SECRET_KEY)

    account = BrokerAccount.objects.get(pk=trader.pk)
    assert "Alpaca accepted the keys" in output and "linked paper Alpaca keys …0001" in output
    assert (account.provider, account.is_live, account.credentials_hint) == (
        "alpaca",
        False,
        "0001",
    )
    assert account.broker_status == "linked"
    assert SECRET_KEY not in account.credentials_encrypted
    assert credentials_decrypt(account.credentials_encrypted) == {
        "key_id": KEY_ID,
        "secret_key": SECRET_KEY,
    }
    credentials = alpaca_credentials_get(account=account)
    assert (credentials.key_id, credentials.secret_key, credentials.live) == (
        KEY_ID,
        SECRET_KEY,
        False,
    )


def test_live_keys_are_marked_live(trader):
    link("trader", "alpaca", "--key-id", "AKLIVE9999", "--secret-key", "s", "--live", "--no-verify")

    account = BrokerAccount.objects.get(pk=trader.pk)
    assert account.is_live and alpaca_credentials_get(account=account).live


def test_keys_alpaca_refuses_are_not_stored(trader, fake_alpaca):
    fake_alpaca.add_account(KEY_ID, SECRET_KEY)

    with pytest.raises(CommandError, match="not linked: Alpaca refused the API keys"):
        link("trader", "alpaca", "--key-id", KEY_ID, "--secret-key", "wrong")

    account = BrokerAccount.objects.get(pk=trader.pk)
    assert account.provider == "simulated" and account.credentials_encrypted == ""


def test_keys_are_stored_when_alpaca_cannot_be_reached(trader, settings):
    settings.ALPACA_TRADING_URL = "http://127.0.0.1:9"

    output = link("trader", "alpaca", "--key-id", KEY_ID, "--secret-key", SECRET_KEY)

    assert "could not verify the keys" in output
    assert BrokerAccount.objects.get(pk=trader.pk).provider == "alpaca"


def test_the_secret_can_be_typed_instead_of_passed(trader, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt: "typed-secret")

    link("trader", "alpaca", "--key-id", KEY_ID, "--no-verify")

    stored = credentials_decrypt(BrokerAccount.objects.get(pk=trader.pk).credentials_encrypted)
    assert stored["secret_key"] == "typed-secret"


def test_a_user_without_an_account_gets_one(db):
    user = make_user("newcomer")

    link("newcomer", "alpaca", "--key-id", KEY_ID, "--secret-key", SECRET_KEY, "--no-verify")

    account = BrokerAccount.objects.get(user=user)
    assert account.provider == "alpaca" and account.cash == Decimal("0")


def test_open_orders_at_the_old_broker_block_a_switch(trader):
    order_submit(account=trader, symbol="AAPL", side="buy", qty=Decimal("1"), type="market")

    with pytest.raises(CommandError, match="open orders"):
        link("trader", "alpaca", "--key-id", KEY_ID, "--secret-key", SECRET_KEY, "--no-verify")


def test_unknown_users_and_unlinking(trader):
    with pytest.raises(CommandError, match="no user"):
        link("nobody", "alpaca", "--key-id", KEY_ID, "--secret-key", "s", "--no-verify")
    link("trader", "alpaca", "--key-id", KEY_ID, "--secret-key", SECRET_KEY, "--no-verify")

    output = link("trader", "alpaca", "--unlink")

    account = BrokerAccount.objects.get(pk=trader.pk)
    assert "unlinked" in output
    assert (account.credentials_encrypted, account.credentials_hint) == ("", "")
    assert account.broker_status == "unlinked"


def test_the_admin_shows_the_connection_state_but_never_the_secret(trader):
    link("trader", "alpaca", "--key-id", KEY_ID, "--secret-key", SECRET_KEY, "--no-verify")
    BrokerAccount.objects.filter(pk=trader.pk).update(
        broker_status="auth_failed", broker_error="Alpaca refused the API keys (unauthorized)."
    )
    staff = make_user("ops")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)

    form = client.get(f"/admin/trading/brokeraccount/{trader.pk}/change/").content.decode()
    listing = client.get("/admin/trading/brokeraccount/").content.decode()

    token = BrokerAccount.objects.get(pk=trader.pk).credentials_encrypted
    for page in (form, listing):
        assert SECRET_KEY not in page and token not in page
        assert "auth_failed" in page and "Alpaca refused the API keys" in page
    assert "0001" in form  # the hint tells operators which key it is
