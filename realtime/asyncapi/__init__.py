"""The AsyncAPI document of /ws/portfolio (docs/api/asyncapi.yaml), generated from the schemas."""

from realtime.asyncapi.document import (
    DOCUMENT_PATH,
    REGENERATE,
    build_document,
    render_yaml,
)

__all__ = ["DOCUMENT_PATH", "REGENERATE", "build_document", "render_yaml"]
