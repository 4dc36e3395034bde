"""REST API of the trading domain (DRF)."""
