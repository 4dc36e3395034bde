"""Streaming app: turns trading's domain signals into WebSocket events on /ws/portfolio."""
