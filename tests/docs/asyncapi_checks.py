"""Reading docs/api/asyncapi.yaml in tests: its messages by frame type, and their validators.

Payload schemas are AsyncAPI Schema Objects (JSON Schema draft 7); formats such as
`date-time` are checked too (rfc3339-validator).
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from realtime.asyncapi import DOCUMENT_PATH
from tests.requirements import require

SPECS_DIR = Path(__file__).resolve().parent / "asyncapi_specs"
SPEC_SCHEMA = SPECS_DIR / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
ENSURE_SPECS = Path(__file__).resolve().parent / "ensure_asyncapi_specs.sh"
DOCUMENT_URI = "urn:portfolio-stream:asyncapi"


def committed_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(DOCUMENT_PATH.read_text())
    return document


def asyncapi_3_schema() -> dict[str, Any]:
    """The official AsyncAPI 3.0.0 JSON Schema from npm's @asyncapi/specs (installed on demand)."""
    if not SPEC_SCHEMA.exists():
        subprocess.run([str(ENSURE_SPECS)], check=False, timeout=300)
    require(SPEC_SCHEMA.exists(), f"@asyncapi/specs is not installed; run {ENSURE_SPECS}")
    schema: dict[str, Any] = json.loads(SPEC_SCHEMA.read_text())
    return schema


def messages_by_type(document: dict[str, Any], action: str) -> dict[str, str]:
    """{frame type: component message name} of the messages an operation `action` carries.

    Follows the document's own references: operation -> channel message -> component message.
    """
    found: dict[str, str] = {}
    for operation in document["operations"].values():
        if operation["action"] != action:
            continue
        for ref in operation["messages"]:
            channel_message = resolve(document, ref["$ref"])
            name = channel_message["$ref"].rsplit("/", 1)[1]
            frame_type = document["components"]["messages"][name]["name"]
            assert found.setdefault(frame_type, name) == name, f"two {action} {frame_type}"
    return found


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def payload_validator(document: dict[str, Any], message: str) -> Draft7Validator:
    """A validator of one message's payload, resolving $refs within the document."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT7)
    )
    return Draft7Validator(
        {"$ref": f"{DOCUMENT_URI}#/components/messages/{message}/payload"},
        registry=registry,
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )


def schema_errors(validator: Draft7Validator, payload: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(frame)'}: {error.message}"
        for error in validator.iter_errors(payload)
    ]
