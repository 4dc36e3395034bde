#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio_stream.settings")
    from django.core.management import execute_from_command_line

    from portfolio_stream.lean_imports import daphne_without_extras
    from portfolio_stream.malloc_arenas import limit_malloc_arenas

    # Before any thread starts, and before Django's setup: its "daphne" app imports
    # daphne.server, and with it Twisted's TLS and autobahn's WAMP extras.
    limit_malloc_arenas()
    daphne_without_extras()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
