"""Development and test settings: the project's settings with DEBUG on unless the environment
says otherwise.

pytest (pyproject.toml) and mypy's Django plugin load these; so do the processes the tests
start, which inherit DJANGO_DEBUG=1 from the test run. Production loads
portfolio_stream.settings, where DEBUG is off unless DJANGO_DEBUG=1.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from portfolio_stream.settings import *  # noqa: F403
