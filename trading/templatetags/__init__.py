"""Template tags and filters of the trading pages."""
