"""The committed OpenAPI document is valid and matches what the code generates."""

import difflib
from pathlib import Path
from typing import Any

from django.conf import settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.validation import validate_schema

SCHEMA_PATH = Path(settings.BASE_DIR) / "docs" / "api" / "openapi.yaml"
REGENERATE = ".venv/bin/python manage.py spectacular --file docs/api/openapi.yaml --validate"


def generate() -> tuple[str, dict[str, Any]]:
    """What `manage.py spectacular` writes, plus the schema as a dict."""
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(schema, renderer_context={}).decode(), schema


def test_openapi_schema_is_valid_and_generates_without_warnings():
    _, schema = generate()

    validate_schema(schema)
    assert not GENERATOR_STATS, (
        "drf-spectacular warned while generating the schema (see the captured output); "
        "fix the views or serializers, then run: " + REGENERATE
    )


def test_openapi_schema_file_is_up_to_date():
    expected, _ = generate()
    assert SCHEMA_PATH.exists(), f"{SCHEMA_PATH} is missing; create it with: {REGENERATE}"
    committed = SCHEMA_PATH.read_text()

    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            "docs/api/openapi.yaml (committed)",
            "generated from the code",
            n=2,
        )
    )
    assert not diff, (
        f"docs/api/openapi.yaml is out of date; regenerate it with: {REGENERATE}\n{diff}"
    )


def test_openapi_schema_documents_the_public_api():
    _, schema = generate()

    assert set(schema["paths"]) >= {
        "/api/account/",
        "/api/positions/",
        "/api/orders/",
        "/api/orders/{id}/",
        "/api/portfolio/snapshot/",
    }
    orders = schema["paths"]["/api/orders/"]
    assert {p["name"] for p in orders["get"]["parameters"]} == {"status", "page"}
    assert set(orders["post"]["responses"]) == {"201", "400", "403", "404", "413", "422"}
    assert set(schema["paths"]["/api/orders/{id}/"]["delete"]["responses"]) == {
        "202",
        "403",
        "404",
        "409",
    }
    money = schema["components"]["schemas"]["Account"]["properties"]["cash"]
    assert money["type"] == "string"
    assert money["format"] == "decimal"
