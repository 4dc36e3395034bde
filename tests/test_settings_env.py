"""Settings come from the environment: DEBUG is opt-in, URLs select services, HTTPS by default.

Each case imports the settings module in a fresh interpreter with a controlled environment,
since settings are read once per process.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json
import os

import django
from django.utils.module_loading import import_string

os.environ["DJANGO_SETTINGS_MODULE"] = "portfolio_stream.settings"
from portfolio_stream import settings as s

db = s.DATABASES["default"]
layer_is_pubsub = None
if "redis" in s.CHANNEL_LAYERS["default"]["BACKEND"].lower():
    from channels_redis.pubsub import RedisPubSubChannelLayer

    django.setup()
    layer_is_pubsub = issubclass(
        import_string(s.CHANNEL_LAYERS["default"]["BACKEND"]), RedisPubSubChannelLayer
    )
print(json.dumps({
    "debug": s.DEBUG,
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "test_name": str(db.get("TEST", {}).get("NAME")),
    "host": db.get("HOST"),
    "port": db.get("PORT"),
    "conn_max_age": db.get("CONN_MAX_AGE"),
    "options": db.get("OPTIONS", {}),
    "cache": s.CACHES["default"]["BACKEND"],
    "cache_location": s.CACHES["default"].get("LOCATION"),
    "layer": s.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_config": s.CHANNEL_LAYERS["default"].get("CONFIG"),
    "layer_is_pubsub": layer_is_pubsub,
    "allowed_hosts": s.ALLOWED_HOSTS,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "proxy_ssl_header": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
    "hsts_seconds": s.SECURE_HSTS_SECONDS,
    "session_cookie_secure": s.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": s.CSRF_COOKIE_SECURE,
}, default=str))
"""

# Whatever configures the project in the parent must not leak into the probe.
_CONFIG_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "PORTFOLIO_", "ORDER_", "SIMULATED_")


def _environment(**env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIG_PREFIXES)}
    return {**clean, **env}


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO_ROOT,
        env=_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _settings(**env: str) -> dict[str, Any]:
    result = _run(**env)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_bare_environment_is_production_and_refuses_to_start_without_a_secret_key(tmp_path):
    # No DJANGO_DEBUG: DEBUG is off, so there is no public development key to fall back on.
    result = _run(PORTFOLIO_VAR_DIR=str(tmp_path))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_bare_daphne_does_not_serve_in_debug(tmp_path):
    daphne = Path(sys.executable).with_name("daphne")
    result = subprocess.run(
        [str(daphne), "-b", "127.0.0.1", "-p", "0", "portfolio_stream.asgi:application"],
        cwd=REPO_ROOT,
        env=_environment(PORTFOLIO_VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_debug_gives_embedded_mode(tmp_path):
    loaded = _settings(DJANGO_DEBUG="1", PORTFOLIO_VAR_DIR=str(tmp_path))

    assert loaded["debug"] is True
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"] == str(tmp_path / "db.sqlite3")
    # The test database is a file, so worker subprocesses can open it too.
    test_db = Path(loaded["test_name"])
    assert test_db.parent == tmp_path
    assert re.fullmatch(r"test-db(-\d+)?\.sqlite3", test_db.name), test_db
    assert loaded["options"]["transaction_mode"] == "IMMEDIATE"
    assert loaded["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert loaded["layer"] == "channels.layers.InMemoryChannelLayer"
    assert loaded["allowed_hosts"] == ["127.0.0.1", "localhost"]
    # Plain HTTP on the developer's machine.
    assert loaded["ssl_redirect"] is False
    assert loaded["session_cookie_secure"] is False
    assert loaded["hsts_seconds"] == 0


def test_database_url_selects_postgresql_with_a_connection_pool():
    loaded = _settings(
        DJANGO_DEBUG="1", DATABASE_URL="postgres://app:secret@db.internal:6543/portfolio"
    )

    assert loaded["engine"] == "django.db.backends.postgresql"
    assert (loaded["name"], loaded["host"], loaded["port"]) == ("portfolio", "db.internal", 6543)
    # psycopg 3's pool replaces persistent connections: CONN_MAX_AGE must stay 0.
    assert loaded["conn_max_age"] == 0
    pool = loaded["options"]["pool"]
    assert pool["min_size"] >= 1
    assert pool["max_size"] >= pool["min_size"]


def test_pool_size_follows_the_environment():
    loaded = _settings(
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://app@db.internal/portfolio",
        DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_MAX_SIZE="4",
    )

    assert loaded["options"]["pool"]["min_size"] == 1
    assert loaded["options"]["pool"]["max_size"] == 4


def test_redis_url_selects_the_redis_cache_and_the_pubsub_channel_layer():
    loaded = _settings(DJANGO_DEBUG="1", REDIS_URL="redis://cache.internal:6380/2")

    assert loaded["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["cache_location"] == "redis://cache.internal:6380/2"
    # The PubSub layer (or a subclass of it), never the core RedisChannelLayer.
    assert loaded["layer_is_pubsub"] is True, loaded["layer"]
    assert loaded["layer_config"]["hosts"] == [{"address": "redis://cache.internal:6380/2"}]
    # The database is still the embedded one: each service is chosen on its own.
    assert loaded["engine"] == "django.db.backends.sqlite3"


def test_production_without_a_secret_key_fails_fast():
    result = _run(DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_with_a_secret_key_starts_with_no_default_hosts():
    loaded = _settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50)

    assert loaded["debug"] is False
    assert loaded["allowed_hosts"] == []


def test_production_is_https_behind_the_proxy_by_default():
    loaded = _settings(DJANGO_SECRET_KEY="k" * 50)

    assert loaded["debug"] is False
    assert loaded["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert loaded["ssl_redirect"] is True
    assert loaded["session_cookie_secure"] is True
    assert loaded["csrf_cookie_secure"] is True
    assert loaded["hsts_seconds"] == 365 * 24 * 3600


def test_https_off_serves_plain_http_with_debug_still_off():
    loaded = _settings(DJANGO_SECRET_KEY="k" * 50, DJANGO_HTTPS="0")

    assert loaded["debug"] is False
    # Without the proxy nobody may claim HTTPS through the header.
    assert loaded["proxy_ssl_header"] is None
    assert (loaded["ssl_redirect"], loaded["session_cookie_secure"]) == (False, False)
    assert loaded["hsts_seconds"] == 0


@pytest.mark.parametrize("variable", ["DJANGO_DEBUG", "ORDER_JOB_LEASE_SECONDS"])
def test_a_malformed_value_fails_instead_of_falling_back_to_the_default(variable):
    result = _run(**{"DJANGO_DEBUG": "1", variable: "maybe"})

    assert result.returncode != 0
    assert variable in result.stderr
