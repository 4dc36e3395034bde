"""The REST API against its committed OpenAPI document, with schemathesis.

Every documented operation gets generated requests (valid and invalid) from a signed-in
trader with a session cookie and a CSRF token, sent in-process to the Django WSGI app: no
answer may be a 500, and every answer must match the document (status, content type,
headers, body schema). Bounded to a few dozen examples per operation.
"""

from pathlib import Path

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import make_account
from tests.trading.order_api import set_prices, submit_limit

SCHEMA_PATH = Path(django_settings.BASE_DIR) / "docs" / "api" / "openapi.yaml"
EXAMPLES_PER_OPERATION = 40
# The socket's upgrade is documented for completeness; WSGI cannot speak it.
NOT_HTTP = {"/ws/portfolio"}
# Rules no JSON Schema states refuse schema-valid orders with a 400 by design: an unknown
# symbol, too little buying power, a limit order without its limit price (and the reverse).
# Every other check still applies to them, negative_data_rejection included.
BUSINESS_RULES = {"POST /api/orders/"}

schema = schemathesis.openapi.from_path(SCHEMA_PATH)
OPERATIONS = [
    result.ok() for result in schema.get_all_operations() if result.ok().path not in NOT_HTTP
]


@pytest.fixture
def app():
    """Django's WSGI app, keeping the test's database connection open between requests,
    as Django's own test client does (the handler would close it after each one)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    schema.app = get_wsgi_application()  # the probes of its checks go there too
    yield schema.app
    schema.app = None
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def trader_session(db):
    """A trader's session cookie and a CSRF token (cookie plus header), as a browser sends."""
    set_prices()
    account = make_account("fuzzed")
    submit_limit(account)  # something to list, get and cancel
    client = Client()
    client.force_login(account.user)
    token = get_random_string(32)
    cookies = {django_settings.SESSION_COOKIE_NAME: client.cookies["sessionid"].value}
    cookies[django_settings.CSRF_COOKIE_NAME] = token
    return cookies, {"X-CSRFToken": token}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_api_conforms_to_its_openapi_document(operation, app, trader_session):
    cookies, headers = trader_session
    excluded = [positive_data_acceptance] if operation.label in BUSINESS_RULES else []

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(
            app=app,
            base_url="http://localhost",
            cookies=cookies,
            headers=headers,
            excluded_checks=excluded,
        )

    check()
