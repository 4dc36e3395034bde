"""Broker gateways: the seam between our books and a broker (simulated or Alpaca)."""
