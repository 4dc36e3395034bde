"""daphne serving the project with tests.deploy.failing_urls as its URLconf.

    python -m tests.deploy.error_server -b 127.0.0.1 -p PORT

The arguments are daphne's; the application is portfolio_stream.asgi:application.
"""

import sys

from daphne.cli import CommandLineInterface
from django.conf import settings


def main(argv: list[str]) -> None:
    # Before the application module loads the URLconf.
    settings.ROOT_URLCONF = "tests.deploy.failing_urls"
    CommandLineInterface().run([*argv, "portfolio_stream.asgi:application"])


if __name__ == "__main__":
    main(sys.argv[1:])
