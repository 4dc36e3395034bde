"""What a server process imports: never alpaca-py (pandas, numpy), drf-spectacular's
AutoSchema, or the optional packages DRF and Twisted would load and we never use.

alpaca-py loads pandas and numpy at import (about 55 MB of RSS); drf-spectacular's AutoSchema
loads django.test, unittest and its contrib extensions (2 MB); DRF's compat module psycopg
(through django.contrib.postgres, even on SQLite), requests, PyYAML and Pygments (15 MB);
daphne's Twisted and autobahn pyOpenSSL, cbor2 and click (7 MB). A process without an
Alpaca account, and every process that does not generate the OpenAPI document, must not
pay for them. Each case runs in a fresh interpreter, since sys.modules is per process and
pytest's own has long imported everything.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps

from portfolio_stream.lean_imports import import_without

REPO_ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("alpaca", "pandas", "numpy", "drf_spectacular.openapi", "drf_spectacular.plumbing")
# Hidden by portfolio_stream.lean_imports (the database is SQLite here: no DATABASE_URL).
UNUSED_EXTRAS = ("requests", "yaml", "pygments", "psycopg", "django.contrib.postgres.fields")
DAPHNE_EXTRAS = ("OpenSSL", "twisted.internet.ssl", "twisted.protocols.tls", "cbor2", "click")

# What manage.py does before Django's setup, as `manage.py serve` (and the worker, market
# and sync commands) run it: `check` loads the URL conf too.
_MANAGE_PY = """
import sys

import manage

sys.argv = ["manage.py", "check", "--fail-level", "CRITICAL"]
manage.main()
"""

# What `manage.py serve` and `daphne portfolio_stream.asgi:application` load before and
# while serving: the ASGI application, every view of the URL conf (include() imports them
# as the resolver is built), the serve command and the loops it runs, the other commands.
_PROBE = """
import json
import sys

import django

django.setup()

import portfolio_stream.asgi
from django.urls import get_resolver

get_resolver().url_patterns
import portfolio_stream.management.commands.serve
import trading.management.commands.run_market
import trading.management.commands.run_order_worker
import trading.management.commands.sync_positions
import trading.services.broker_sync
import trading.services.market
import trading.worker

print(json.dumps(sorted(sys.modules)))
"""


def imported_modules(probe: str) -> set[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "ALPACA_", "PYTEST_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="portfolio_stream.settings", DJANGO_DEBUG="1", LOG_LEVEL="WARNING"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def loaded(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for name in modules)


def test_server_process_imports_neither_alpaca_nor_the_schema_generator() -> None:
    modules = imported_modules(_PROBE)

    assert "portfolio_stream.asgi" in modules and "trading.api.views" in modules
    heavy = [package for package in HEAVY if loaded(modules, package)]
    assert not heavy, (
        f"a server process imported {heavy}: import it inside the function that needs it "
        "(trading.services.gateways, the serve command) or record schema annotations with "
        "trading.api.schema.extend_schema"
    )


def test_no_process_imports_the_extras_drf_never_uses_here() -> None:
    """daphne's processes too: the app config hides them from DRF, whoever starts Django."""
    modules = imported_modules(_PROBE)

    loaded_extras = [package for package in UNUSED_EXTRAS if loaded(modules, package)]
    assert not loaded_extras, (
        f"a server process imported {loaded_extras}: something imported rest_framework.compat "
        "before PortfolioStreamConfig.ready(), or imports them itself at start-up"
    )


def test_manage_py_servers_import_daphne_without_tls_or_wamp_extras() -> None:
    modules = imported_modules(_MANAGE_PY + _PROBE)

    assert "twisted.internet.asyncioreactor" in modules and "autobahn" in modules
    extras = [package for package in (*DAPHNE_EXTRAS, *UNUSED_EXTRAS) if loaded(modules, package)]
    assert not extras, (
        f"manage.py's process imported {extras}: daphne.server was imported before "
        "manage.py's main() hid them, or something imports them at start-up"
    )


def test_the_probe_notices_the_heavy_modules_once_imported() -> None:
    """The probe is not blind, and what was hidden stays importable: importing the gateway,
    the generator and the hidden extras shows all of them."""
    imports = [
        "trading.broker.alpaca.gateway",
        "drf_spectacular.openapi",
        *UNUSED_EXTRAS,
        *DAPHNE_EXTRAS,
    ]
    probe = _MANAGE_PY + _PROBE.replace(
        "print(", "".join(f"import {name}\n" for name in imports) + "print(", 1
    )
    modules = imported_modules(probe)

    assert all(loaded(modules, package) for package in (*HEAVY, *UNUSED_EXTRAS, *DAPHNE_EXTRAS))


def test_no_model_has_a_postgres_field() -> None:
    """DRF, without django.contrib.postgres.fields, would not map one in a ModelSerializer."""
    postgres_fields = [
        f"{model.__name__}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if type(field).__module__.startswith("django.contrib.postgres")
    ]

    assert not postgres_fields, "drop it from lean_imports.DRF_UNUSED_EXTRAS"


def test_import_without_hides_only_while_importing(tmp_path, monkeypatch) -> None:
    (tmp_path / "lean_optional.py").write_text("")
    (tmp_path / "lean_library.py").write_text(
        "try:\n    import lean_optional\nexcept ImportError:\n    lean_optional = None\n"
    )
    (tmp_path / "lean_broken.py").write_text("raise RuntimeError('broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("lean_optional", "lean_library", "lean_broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    library = import_without("lean_library", ["lean_optional"])
    with pytest.raises(RuntimeError):
        import_without("lean_broken", ["lean_optional"])

    assert library.lean_optional is None
    assert "lean_optional" not in sys.modules  # no None left behind, even after a failure
    importlib.import_module("lean_optional")

    assert import_without("lean_library", ["lean_optional"]) is library
