"""Every page of the app and of the operator's admin runs in Chromium under the CSP untouched.

A CSP violation is a console error ("Refused to ..."), which fails the test through
tests/browser's `open_page`. The inline style allowed by its hash is really applied.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, login
from tests.browser.helpers import expect_status
from tests.factories import make_account

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-1"  # tests.factories.make_user's default
ADMIN_PAGES = [
    "/admin/",
    "/admin/runbooks/websocket-operations/",
    "/admin/rollout/flag/",
    "/admin/axes/accessattempt/",
]


def test_the_pages_run_without_a_csp_violation(open_page, server: LiveServer):
    user = make_account("trader").user
    user.is_staff = user.is_superuser = True
    user.save()
    page = open_page()
    response = page.goto(f"{server.url}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    login(page, server, "trader", PASSWORD)
    # The socket is allowed by connect-src 'self'.
    expect_status(page, "connected", timeout=10_000)

    page.goto(f"{server.url}/admin/websocket-stats/")
    expect(page.locator("[data-stats-updated]")).to_contain_text("Updated", timeout=10_000)

    page.goto(f"{server.url}/admin/test-trade/")
    # style="max-width: 40rem", allowed by its hash: 40 rem of 16 px.
    width = page.locator("div.module.aligned").first.evaluate("e => getComputedStyle(e).maxWidth")
    assert width == "640px"

    for path in ADMIN_PAGES:
        assert page.goto(f"{server.url}{path}").status == 200, path


def test_a_locked_out_login_is_answered_429_in_the_browser(open_page, server: LiveServer):
    make_account("trader")
    page = open_page()
    # Chromium logs the 429 document itself as a failed resource.
    page.errors.allow_network_errors = True
    for _ in range(10):
        page.goto(f"{server.url}/accounts/login/")
        page.fill("input[name=username]", "trader")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
    page.goto(f"{server.url}/accounts/login/")
    page.fill("input[name=username]", "trader")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("button[type=submit]")

    assert answer.value.status == 429
