"""docs/api/asyncapi.yaml: up to date, valid AsyncAPI 3.0, examples valid, codes complete."""

import ast
import copy
import difflib
import io
import json
from pathlib import Path
from typing import Any, get_args

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from jsonschema import Draft7Validator

from realtime.asyncapi import DOCUMENT_PATH, REGENERATE, build_document, render_yaml
from realtime.conf import CloseCode
from realtime.error_codes import CLOSE_CODES, ERROR_CODES, ErrorCode, close_code_names
from realtime.events import (
    ClientMessage,
    PortfolioEvent,
    client_message_adapter,
    portfolio_event_adapter,
)
from realtime.events import schemas as event_schemas
from tests.docs.asyncapi_checks import (
    asyncapi_3_schema,
    committed_document,
    messages_by_type,
    payload_validator,
    schema_errors,
)

REALTIME_DIR = Path(settings.BASE_DIR) / "realtime"
CLIENT_TYPES = {"subscribe", "unsubscribe", "ping", "pong"}
SERVER_TYPES = {
    "subscribed",
    "unsubscribed",
    "snapshot",
    "position_update",
    "order_update",
    "account_update",
    "trade_executed",
    "batch",
    "ping",
    "pong",
    "error",
}


def test_asyncapi_file_is_up_to_date() -> None:
    assert DOCUMENT_PATH.exists(), f"{DOCUMENT_PATH} is missing; create it with: {REGENERATE}"
    expected = render_yaml(build_document())
    diff = "".join(
        difflib.unified_diff(
            DOCUMENT_PATH.read_text().splitlines(keepends=True),
            expected.splitlines(keepends=True),
            "docs/api/asyncapi.yaml (committed)",
            "generated from the schemas",
            n=2,
        )
    )
    assert not diff, (
        f"docs/api/asyncapi.yaml is out of date; regenerate it with: {REGENERATE}\n{diff}"
    )


def test_export_asyncapi_writes_the_document_and_check_fails_when_stale(tmp_path: Path) -> None:
    target = tmp_path / "asyncapi.yaml"
    call_command("export_asyncapi", "--file", str(target), stdout=io.StringIO())
    assert target.read_text() == render_yaml(build_document())
    call_command("export_asyncapi", "--file", str(target), "--check", stdout=io.StringIO())

    target.write_text(target.read_text().replace("Portfolio stream", "Portfolio steam"))
    output = io.StringIO()
    with pytest.raises(CommandError, match=r"regenerate it with: .*export_asyncapi"):
        call_command("export_asyncapi", "--file", str(target), "--check", stdout=output)
    assert "-    title: Portfolio steam" in output.getvalue()


def test_document_is_valid_asyncapi_3() -> None:
    spec = asyncapi_3_schema()
    document = committed_document()
    assert document["asyncapi"] == "3.0.0"
    assert spec["$id"].endswith("/3.0.0/asyncapi.json")
    validator = Draft7Validator(spec)

    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator.iter_errors(document)
    ]
    assert not errors, "\n".join(errors)

    # The validator really looks inside: breaking a payload schema or a message is caught.
    broken = copy.deepcopy(document)
    broken["components"]["schemas"]["Ping"]["properties"]["ts"]["type"] = "timestamp"
    assert not validator.is_valid(broken)
    broken = copy.deepcopy(document)
    broken["components"]["messages"]["Ping"]["examples"] = {"name": "not a list"}
    assert not validator.is_valid(broken)


def test_one_message_per_frame_type_in_each_direction() -> None:
    document = committed_document()
    client = messages_by_type(document, "receive")
    server = messages_by_type(document, "send")

    assert set(client) == CLIENT_TYPES
    assert set(server) == SERVER_TYPES
    # And the unions the server validates with have exactly these members.
    assert set(client.values()) == {m.__name__ for m in _members(ClientMessage)}
    assert set(server.values()) == {m.__name__ for m in _members(PortfolioEvent)}


def test_every_example_validates_against_its_schema_and_its_model() -> None:
    document = committed_document()
    checked = 0
    for action, adapter in (("receive", client_message_adapter), ("send", portfolio_event_adapter)):
        for frame_type, name in messages_by_type(document, action).items():
            message = document["components"]["messages"][name]
            validator = payload_validator(document, name)
            model = getattr(event_schemas, name)
            assert message["examples"], f"{name} has no example"
            for example in message["examples"]:
                payload = example["payload"]
                where = f"{name} example {example['name']}"
                assert payload["type"] == frame_type, where
                assert not schema_errors(validator, payload), (
                    where,
                    schema_errors(validator, payload),
                )
                wire = json.dumps(payload)
                parsed = model.model_validate_json(wire)
                assert parsed.model_dump(mode="json") == payload, where
                assert type(adapter.validate_json(wire)) is model, where
                checked += 1
    assert checked >= len(CLIENT_TYPES) + len(SERVER_TYPES)


def test_payload_schemas_reject_what_the_models_reject() -> None:
    """Spot checks that the schemas are not looser than pydantic where it matters."""
    document = committed_document()
    example = document["components"]["messages"]["OrderUpdate"]["examples"][0]["payload"]
    validator = payload_validator(document, "OrderUpdate")
    for change in (
        {"seq": 0},
        {"ts": "yesterday"},
        {"channel": "positions"},
        {"extra": 1},
        {"data": {**example["data"], "qty": 10}},
        {"data": {**example["data"], "qty": "1e3"}},
    ):
        assert schema_errors(validator, {**example, **change}), change


def test_error_codes_are_the_ones_the_server_sends() -> None:
    sent = _error_codes_in_source()
    assert sent == {c.value for c in ErrorCode}, (
        "realtime.error_codes.ErrorCode must list exactly the codes realtime/ sends; "
        f"sent but not listed: {sent - set(ErrorCode)}, listed but never sent: "
        f"{set(ErrorCode) - sent}"
    )
    assert set(ERROR_CODES) == set(ErrorCode)

    document = committed_document()
    documented = document["components"]["messages"]["ErrorMessage"]["x-error-codes"]
    assert [c["code"] for c in documented] == [c.value for c in ErrorCode]
    code_schema = document["components"]["schemas"]["ErrorMessage"]["properties"]["code"]
    assert code_schema["enum"] == [c.value for c in ErrorCode]


def test_close_codes_are_documented_from_close_code() -> None:
    names = close_code_names()
    assert set(CLOSE_CODES) == set(names), "every realtime.conf.CloseCode needs a meaning"
    assert names[CloseCode.SLOW_CONSUMER] == "SLOW_CONSUMER"
    document = committed_document()
    documented = document["channels"]["portfolio"]["x-close-codes"]
    assert {c["code"]: c["name"] for c in documented} == names
    closing = {info.close_code for info in ERROR_CODES.values()} - {None}
    assert closing <= set(names)


def test_security_is_the_session_cookie() -> None:
    document = committed_document()
    scheme = document["components"]["securitySchemes"]["sessionCookie"]
    assert scheme == {**scheme, "type": "httpApiKey", "in": "cookie"}
    assert scheme["name"] == settings.SESSION_COOKIE_NAME
    for server in document["servers"].values():
        assert server["security"] == [{"$ref": "#/components/securitySchemes/sessionCookie"}]


def _members(union: Any) -> tuple[type, ...]:
    members, _discriminator = get_args(union)  # Annotated[A | B | ..., Field(...)]
    return get_args(members)


def _error_codes_in_source() -> set[str]:
    """The codes (literals or ErrorCode members) passed to the error helpers in realtime/."""
    helpers = {"_error": 0, "_close_with_error": 1, "FrameError": 0}
    codes: set[str] = set()
    for path in REALTIME_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in helpers or len(node.args) <= helpers[name]:
                continue
            argument = node.args[helpers[name]]
            # Variables only pass on a code written as a literal elsewhere (FrameError's).
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                codes.add(argument.value)
            elif isinstance(argument, ast.Attribute) and ast.unparse(argument.value) == "ErrorCode":
                codes.add(ErrorCode[argument.attr].value)
    return codes
