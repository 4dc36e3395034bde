"""Libraries imported as if some optional packages they would load were not installed."""

import importlib
import sys
from collections.abc import Iterable
from types import ModuleType

# What Django REST framework's compat module tries at import and this project never uses: the
# postgres field mapping (no model has a django.contrib.postgres field; it loads psycopg even
# on SQLite), RequestsClient (requests), DRF's own OpenAPI renderer (yaml; drf-spectacular
# imports yaml itself when it renders) and the docs' highlighting (pygments). 15 MB of RSS.
DRF_UNUSED_EXTRAS = ("django.contrib.postgres.fields", "requests", "yaml", "pygments")

# What daphne.server would load and no process manage.py starts uses: pyOpenSSL, through
# which Twisted offers TLS (TLS ends at the proxy, the broker clients use the standard
# library's ssl; without it Twisted's reactor is plain TCP), and two extras of autobahn's
# for WAMP, which daphne does not speak: cbor2 (a WAMP serializer) and click (colours in
# autobahn's log helpers). 7 MB of RSS.
DAPHNE_UNUSED_EXTRAS = ("OpenSSL", "cbor2", "click")


def import_without(module: str, hidden: Iterable[str]) -> ModuleType:
    """Import `module` while the `hidden` modules look uninstalled; they stay importable after.

    A None in sys.modules makes an import of that name raise ModuleNotFoundError (the import
    system's documented way to block one); the libraries above catch it and go without.
    A module already imported, or already hidden from, is left as it is.
    """
    if module in sys.modules:
        return sys.modules[module]
    blocked = [name for name in hidden if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(module)
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def rest_framework_without_extras() -> None:
    """DRF without DRF_UNUSED_EXTRAS; before anything imports rest_framework.compat."""
    import_without("rest_framework.compat", DRF_UNUSED_EXTRAS)


def daphne_without_extras() -> None:
    """daphne's server (Twisted's asyncio reactor, autobahn) without DAPHNE_UNUSED_EXTRAS;
    before Django's setup, whose "daphne" app imports daphne.server."""
    import_without("daphne.server", DAPHNE_UNUSED_EXTRAS)
