"""The browser tests' fixtures (a live `serve`, Chromium, pages failing on console errors)."""

from tests.browser.conftest import browser, open_page, processes, server  # noqa: F401
