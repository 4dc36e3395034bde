"""Faults a test installs in a server process (tests.integration.instrumented_server --setup)."""

from typing import Any


def break_unsubscribe() -> None:
    """`unsubscribe` frames make the consumer's handler raise."""
    from realtime.consumers import PortfolioConsumer

    async def broken(self: Any, channels: list[str]) -> None:
        raise RuntimeError("injected fault: unsubscribe")

    PortfolioConsumer._unsubscribe = broken  # type: ignore[method-assign]
