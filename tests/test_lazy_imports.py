"""What a server process imports: never alpaca-py (pandas, numpy) or drf-spectacular's AutoSchema.

alpaca-py loads pandas and numpy at import (about 55 MB of RSS); drf-spectacular's AutoSchema
loads django.test, unittest and its contrib extensions (2 MB). A process without an Alpaca
account, and every process that does not generate the OpenAPI document, must not pay for
them. Each case runs in a fresh interpreter, since sys.modules is per process and pytest's
own has long imported everything.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("alpaca", "pandas", "numpy", "drf_spectacular.openapi", "drf_spectacular.plumbing")

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


def test_the_probe_notices_the_heavy_modules_once_imported() -> None:
    """The probe is not blind: importing the gateway and the generator shows all of them."""
    probe = _PROBE.replace(
        "print(", "import trading.broker.alpaca.gateway\nimport drf_spectacular.openapi\nprint(", 1
    )
    modules = imported_modules(probe)

    assert all(loaded(modules, package) for package in HEAVY)
