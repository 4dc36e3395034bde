"""Server-rendered pages: login, logout and the portfolio page."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.factories import make_user, set_price
from trading.models import BrokerAccount
from trading.services.orders import order_submit
from trading.templatetags import trading_format

PASSWORD = "pw-for-tests-1"  # tests.factories.make_user's default
POSITION_CELLS = {
    "symbol",
    "qty",
    "avg_entry_price",
    "current_price",
    "market_value",
    "unrealized_pl",
    "unrealized_intraday_pl",
}


class RowParser(HTMLParser):
    """Collect `data-field` cells of every `<tr data-symbol>` and the account's fields."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.fields: dict[str, str] = {}
        self._row: str | None = None
        self._field: str | None = None
        self._field_tag = ""
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr":
            self._row = attributes.get("data-symbol")
            if self._row:
                self.rows[self._row] = {}
        if "data-field" in attributes and self._field is None:
            self._field, self._text = attributes["data-field"], []
            self._field_tag = tag

    def handle_endtag(self, tag: str) -> None:
        if self._field is not None and tag == self._field_tag:
            text = " ".join("".join(self._text).split())
            if self._row:
                self.rows[self._row][self._field] = text
            else:
                self.fields.setdefault(self._field, text)
            self._field = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._field is not None:
            self._text.append(data)


def parse(html: str) -> RowParser:
    parser = RowParser()
    parser.feed(html)
    return parser


@pytest.fixture
def browser(account) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(account.user)
    return client


def test_root_redirects_to_portfolio(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/portfolio/"


def test_portfolio_redirects_anonymous_users_to_login(client):
    response = client.get("/portfolio/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/portfolio/"


@pytest.mark.django_db
def test_login_page_renders_form(client):
    response = client.get("/accounts/login/?next=/portfolio/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'value="/portfolio/"' in html
    assert "/static/portfolio/css/app.css" in html


@pytest.mark.django_db
def test_login_logs_in_and_redirects_to_portfolio():
    make_user("alice")
    client = Client()

    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": "/portfolio/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/portfolio/"
    assert client.get("/portfolio/").status_code == 200


@pytest.mark.django_db
def test_login_with_wrong_password_shows_error():
    make_user("alice")

    response = Client().post("/accounts/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Please enter a correct username and password" in html
    assert 'role="alert"' in html


@pytest.mark.django_db
def test_login_page_needs_csrf_token():
    make_user("alice")
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403


def test_logout_ends_the_session(browser):
    page = browser.get("/portfolio/")
    token = page.cookies["csrftoken"].value
    assert "Log out" in page.content.decode()

    response = browser.post("/accounts/logout/", {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert browser.get("/portfolio/").status_code == 302
    assert browser.get("/api/account/").status_code == 403


def test_logout_by_get_is_refused(browser):
    assert browser.get("/accounts/logout/").status_code == 405
    assert browser.get("/portfolio/").status_code == 200


def test_portfolio_page_shows_account_and_header(browser, account):
    BrokerAccount.objects.filter(pk=account.pk).update(
        equity=Decimal("101234.50"), last_equity=Decimal("100000.00")
    )

    response = browser.get("/portfolio/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "trader" in html  # the username in the header
    fields = parse(html).fields
    assert fields["equity"] == "$101,234.50"
    assert fields["cash"] == "$100,000.00"
    assert fields["buying_power"] == "$100,000.00"
    assert fields["day_pl"] == "+$1,234.50"
    assert fields["day_pl_pct"] == "+1.23%"
    assert 'data-field="equity" data-value="101234.50"' in html


def test_portfolio_page_positions_rows_have_data_fields(browser, account, work_queue):
    set_price("AAPL", "200.00")
    set_price("MSFT", "100.00")
    for symbol in ("AAPL", "MSFT"):
        order_submit(account=account, symbol=symbol, side="buy", qty=Decimal("10"), type="market")
    work_queue()

    html = browser.get("/portfolio/").content.decode()

    rows = parse(html).rows
    assert set(rows) == {"AAPL", "MSFT"}
    assert POSITION_CELLS <= set(rows["AAPL"])
    assert rows["AAPL"]["symbol"] == "AAPL"
    assert rows["AAPL"]["qty"] == "10"
    assert rows["AAPL"]["avg_entry_price"] == "$200.00"
    assert rows["AAPL"]["market_value"] == "$2,000.00"
    assert rows["MSFT"]["market_value"] == "$1,000.00"
    assert rows["AAPL"]["unrealized_pl"] == "$0.00"
    assert 'id="recent-fills"' in html
    assert html.count("data-execution-id=") == 2


def test_portfolio_page_lists_open_orders(browser, account):
    set_price("AAPL", "200.00")
    order = order_submit(
        account=account,
        symbol="AAPL",
        side="buy",
        qty=Decimal("3"),
        type="limit",
        limit_price=Decimal("150.5"),
    )

    html = browser.get("/portfolio/").content.decode()

    assert f'data-order-id="{order.pk}"' in html
    assert "$150.50" in html
    assert "Pending new" in html
    assert "No open positions" in html


def test_portfolio_page_empty_state_without_account(db):
    client = Client()
    client.force_login(make_user("newcomer"))

    response = client.get("/portfolio/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "No brokerage account yet" in html
    assert "data-symbol" not in html


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("usd", Decimal("-1234.5"), "-$1,234.50"),
        ("usd", None, "—"),
        ("signed_usd", Decimal("12.00"), "+$12.00"),
        ("signed_usd", Decimal("-3.10"), "-$3.10"),
        ("signed_usd", Decimal("0.00"), "$0.00"),
        ("signed_pct", Decimal("0.012345"), "+1.23%"),
        ("signed_pct", Decimal("-0.5"), "-50.00%"),
        ("signed_pct", Decimal("-0.000001"), "0.00%"),
        ("price", Decimal("200.00000000"), "$200.00"),
        ("price", Decimal("10.12340000"), "$10.1234"),
        ("price", Decimal("1500"), "$1,500.00"),
        ("qty", Decimal("1000.000000"), "1,000"),
        ("qty", Decimal("-2.500000"), "-2.5"),
        ("trend", Decimal("-0.01"), "down"),
        ("trend", Decimal("0"), "flat"),
        ("trend", "not a number", "flat"),
    ],
)
def test_display_filters(name, value, expected):
    assert getattr(trading_format, name)(value) == expected
