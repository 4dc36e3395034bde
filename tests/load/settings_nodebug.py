"""bench_orders --no-debug: the project's settings with DEBUG off, as production runs them."""

import os

# start_server sets DJANGO_DEBUG=1 for every server it starts; this module wins over it.
os.environ["DJANGO_DEBUG"] = "0"

from portfolio_stream.settings import *  # noqa: F403
