"""The Content-Security-Policy: strict, sent on every page, and covering the templates' inline code.

The policy allows same-origin scripts and styles only, plus the few inline pieces the
templates have, each by its hash. A template that gains inline code the policy does not
cover fails here, before a browser refuses to run it (tests/deploy/test_csp_browser.py runs
the pages in Chromium and fails on any CSP violation).
"""

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import make_account, make_user

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# A data block is not script; the browser never runs it.
DATA_TYPES = {"application/json", "application/ld+json"}


def _hash(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


class InlineCode(HTMLParser):
    """Inline <script> bodies, style="" attributes and on*="" handlers of one template."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.handlers: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.styles += [v for k, v in attrs if k == "style" and v is not None]
        self.handlers += [f"{k}={v}" for k, v in attrs if k.startswith("on")]
        if tag == "script" and "src" not in values and values.get("type") not in DATA_TYPES:
            self._script = []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None


def _inline_code() -> dict[str, InlineCode]:
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        parser = InlineCode()
        parser.feed(path.read_text())
        found[str(path.relative_to(TEMPLATES))] = parser
    return found


def _directive(header: str, name: str) -> list[str]:
    for part in header.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    raise AssertionError(f"no {name} in {header!r}")


def test_the_policy_is_strict():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]

    for name in ("script-src", "style-src", "default-src", "connect-src"):
        assert "'unsafe-inline'" not in directives[name], name
        assert "'unsafe-eval'" not in directives[name], name
        assert "*" not in directives[name], name
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]


def test_every_inline_script_and_style_of_the_templates_is_allowed_by_its_hash():
    script_hashes = set(settings.CSP_INLINE_SCRIPT_HASHES)
    style_hashes = set(settings.CSP_INLINE_STYLE_HASHES)
    uncovered = []
    for name, code in _inline_code().items():
        uncovered += [f"{name}: <script>{s}" for s in code.scripts if _hash(s) not in script_hashes]
        uncovered += [f'{name}: style="{s}"' for s in code.styles if _hash(s) not in style_hashes]

    assert not uncovered, (
        "inline code the CSP refuses; move it to a static file or a stylesheet class "
        "(or add its hash in settings):\n" + "\n".join(uncovered)
    )


def test_no_template_has_an_inline_event_handler():
    # 'unsafe-hashes' is granted to styles only: an onclick="" never runs.
    handlers = [f"{name}: {h}" for name, code in _inline_code().items() for h in code.handlers]

    assert not handlers


def test_no_hash_is_left_over_when_its_inline_code_is_gone():
    found = _inline_code().values()
    scripts = {_hash(s) for code in found for s in code.scripts}
    styles = {_hash(s) for code in found for s in code.styles}

    assert set(settings.CSP_INLINE_SCRIPT_HASHES) <= scripts
    assert set(settings.CSP_INLINE_STYLE_HASHES) <= styles


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/portfolio/", "/admin/", "/api/account/"])
def test_pages_carry_the_policy(client, path):
    user = make_account("trader").user
    user.is_staff = user.is_superuser = True
    user.save()
    if path != "/accounts/login/":
        client.force_login(user)

    response = client.get(path)

    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    assert _directive(header, "script-src")[0] == "'self'"
    assert "'unsafe-inline'" not in header
    assert _directive(header, "frame-ancestors") == ["'none'"]


@pytest.mark.django_db
def test_the_login_page_renders_its_inline_script_exactly_as_hashed(client):
    make_user()
    page = client.get("/accounts/login/").content.decode()
    inline = re.findall(r"<script>(.*?)</script>", page, flags=re.S)

    assert inline
    assert all(_hash(body) in settings.CSP_INLINE_SCRIPT_HASHES for body in inline)
