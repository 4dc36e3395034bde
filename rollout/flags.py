"""The names of the deployment's feature flags."""

# The live /ws/portfolio stream; off means the page polls REST.
REALTIME_PORTFOLIO = "realtime_portfolio"
