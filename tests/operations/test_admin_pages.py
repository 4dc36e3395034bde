"""The operator's admin pages: links, the flag admin (kill switch), the test trade and the nudge."""

from decimal import Decimal

import pytest
from django.test import Client

from rollout.flags import REALTIME_PORTFOLIO
from rollout.gate import realtime_enabled_for
from rollout.models import Flag
from tests.factories import make_user
from trading.models import BrokerAccount, Instrument, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    boss = make_user("boss")
    boss.is_staff = boss.is_superuser = True
    boss.save()
    client = Client()
    client.force_login(boss)
    return client


def test_admin_index_links_the_operator_pages(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    for url in ("/admin/websocket-stats/", "/admin/test-trade/", "/admin/runbooks/"):
        assert url in page
    assert "/admin/rollout/flag/" in page  # the flag is in the admin under Rollout
    assert admin_client.get("/admin/websocket-stats/").status_code == 200
    assert admin_client.get("/admin/runbooks/websocket-operations/").status_code == 200
    assert admin_client.get("/admin/runbooks/nope/").status_code == 404


def test_non_staff_get_the_admin_login(account: BrokerAccount) -> None:
    client = Client()
    client.force_login(account.user)
    for url in ("/admin/websocket-stats/", "/admin/test-trade/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_kill_switch_through_the_flag_admin(admin_client: Client, account: BrokerAccount) -> None:
    flag = Flag.objects.get(name=REALTIME_PORTFOLIO)
    url = f"/admin/rollout/flag/{flag.pk}/change/"
    form = {
        "name": REALTIME_PORTFOLIO,
        "note": "",
        "everyone": "false",
        "superusers": "on",
        "percent": "",
        "languages": "",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not realtime_enabled_for(account.user)
    form["everyone"] = "unknown"
    form["percent"] = "100"
    admin_client.post(url, form)
    assert realtime_enabled_for(account.user)


def test_test_trade_places_an_order_for_the_user(
    admin_client: Client, account: BrokerAccount
) -> None:
    response = admin_client.post(
        "/admin/test-trade/",
        {
            "trade-user": account.user.username,
            "trade-symbol": "AAPL",
            "trade-side": "buy",
            "trade-qty": "2",
            "trade-type": "market",
        },
    )
    assert response.status_code == 302
    order = Order.objects.get(account=account)
    assert (order.symbol, order.side, order.qty) == ("AAPL", "buy", Decimal("2"))


def test_test_trade_errors_are_shown_not_raised(
    admin_client: Client, account: BrokerAccount
) -> None:
    response = admin_client.post(
        "/admin/test-trade/",
        {
            "trade-user": account.user.username,
            "trade-symbol": "AAPL",
            "trade-side": "buy",
            "trade-qty": "100000000",
            "trade-type": "market",
        },
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Order.objects.filter(account=account).exists()


def test_price_nudge_moves_the_price(admin_client: Client) -> None:
    before = Instrument.objects.get(symbol="MSFT").price
    assert before is not None
    response = admin_client.post(
        "/admin/test-trade/", {"nudge-symbol": "MSFT", "nudge-percent": "-2.5"}
    )
    assert response.status_code == 302
    after = Instrument.objects.get(symbol="MSFT").price
    assert after == (before * Decimal("0.975")).quantize(Decimal("0.01"))
    response = admin_client.post(
        "/admin/test-trade/", {"nudge-symbol": "MSFT", "nudge-percent": "80"}
    )
    assert response.status_code == 200  # over 50 %: a form error
