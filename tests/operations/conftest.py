"""The socket fixtures of tests/realtime, for tests that open a socket and read the stats."""

from tests.realtime.conftest import channel_layer, layer_kind, ws_connect

__all__ = ["channel_layer", "layer_kind", "ws_connect"]
