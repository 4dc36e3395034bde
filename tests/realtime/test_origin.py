"""The handshake's Origin check follows Django's CSRF rule: scheme, host and port."""

from typing import Any

import pytest

from realtime.origin import origin_allowed


def scope(origin: str | None, host: str | None = "127.0.0.1:8611", **extra: Any) -> dict[str, Any]:
    headers = []
    if host is not None:
        headers.append((b"host", host.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    for name, value in extra.pop("headers", {}).items():
        headers.append((name.encode(), value.encode()))
    return {"type": "websocket", "headers": headers, "server": ("127.0.0.1", 8611), **extra}


@pytest.fixture(autouse=True)
def hosts(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "trade.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://trade.example.com", "https://*.partner.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8611", True),
        ("http://127.0.0.1:9999", False),  # another port of the same host
        ("http://127.0.0.1", False),
        ("https://127.0.0.1:8611", False),  # the request came over plain HTTP
        ("http://localhost:8611", False),  # the Host header says 127.0.0.1
        ("http://evil.example", False),
        ("null", False),
        ("https://trade.example.com", True),  # CSRF_TRUSTED_ORIGINS
        ("https://trade.example.com:8443", False),
        ("http://trade.example.com", False),
        ("https://app.partner.example", True),  # a trusted wildcard subdomain
        ("http://app.partner.example", False),
    ],
)
def test_origin_against_the_request_itself(origin: str, allowed: bool) -> None:
    assert origin_allowed(scope(origin)) is allowed


def test_missing_origin_is_refused() -> None:
    assert not origin_allowed(scope(None))


def test_behind_the_tls_proxy_the_origin_is_https() -> None:
    proxied = {"x-forwarded-proto": "https"}
    assert origin_allowed(scope("https://trade.example.com", "trade.example.com", headers=proxied))
    assert origin_allowed(scope("https://localhost", "localhost", headers=proxied))
    assert not origin_allowed(scope("http://localhost", "localhost", headers=proxied))


def test_a_host_outside_allowed_hosts_is_no_origin_of_ours(settings: Any) -> None:
    assert not origin_allowed(scope("http://attacker.example", "attacker.example"))


def test_without_a_host_header_the_server_address_counts() -> None:
    assert origin_allowed(scope("http://127.0.0.1:8611", host=None))
    assert not origin_allowed(scope("http://127.0.0.1:8612", host=None))


def test_a_wss_scope_is_https() -> None:
    assert origin_allowed(scope("https://127.0.0.1:8611", scheme="wss"))
