"""A local Alpaca (REST, trade-updates stream, market-data stream) for tests and demos."""

from tests.fake_alpaca.server import FakeAlpaca

__all__ = ["FakeAlpaca"]
