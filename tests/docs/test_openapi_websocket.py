"""The OpenAPI document describes the /ws/portfolio handshake and points to the AsyncAPI one."""

from pathlib import Path

import yaml
from drf_spectacular.validation import validate_schema

from tests.test_openapi import SCHEMA_PATH, generate


def test_openapi_documents_the_websocket_upgrade() -> None:
    _, schema = generate()
    validate_schema(schema)
    operation = schema["paths"]["/ws/portfolio"]["get"]

    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["Upgrade"]["schema"]["enum"] == ["websocket"]
    assert headers["Sec-WebSocket-Version"]["schema"]["enum"] == ["13"]
    assert headers["Origin"]["required"]
    assert set(operation["responses"]) == {"101", "403"}
    assert operation["security"] == [{"cookieAuth": []}]
    cookie = schema["components"]["securitySchemes"]["cookieAuth"]
    assert (cookie["type"], cookie["in"]) == ("apiKey", "cookie")


def test_openapi_points_to_the_committed_asyncapi_document() -> None:
    committed = yaml.safe_load(SCHEMA_PATH.read_text())
    operation = committed["paths"]["/ws/portfolio"]["get"]
    target = SCHEMA_PATH.parent / Path(operation["externalDocs"]["url"])

    assert target.name == "asyncapi.yaml"
    assert yaml.safe_load(target.read_text())["asyncapi"] == "3.0.0"
    assert "docs/api/asyncapi.yaml" in operation["description"]
