"""Project package: settings, ASGI entry point, URLs and the embedded server."""
