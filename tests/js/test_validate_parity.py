"""The browser's frame checks (static/portfolio/js/validate.js) agree with the AsyncAPI schemas.

Every server message's examples, and variants of them with one field missing, of the wrong
type or malformed (at any depth), go through both validate.js and the document's JSON Schema;
each must be accepted by both or rejected by both. The one intended difference, unknown fields
(allowed by the browser for forward compatibility, forbidden by the schemas), is pinned down
separately.
"""

import copy
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realtime.asyncapi import build_document
from tests.docs.asyncapi_checks import messages_by_type, payload_validator
from tests.requirements import require

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")

SCRIPT = """
import { validateFrame } from "./static/portfolio/js/validate.js";
const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (c) => (text += c));
  process.stdin.on("end", () => resolve(text));
}));
console.log(JSON.stringify(input.map((frame) => validateFrame(JSON.stringify(frame)))));
"""

Path_ = tuple[str | int, ...]


@pytest.fixture(autouse=True)
def node_installed() -> None:
    require(NODE is not None, "node is not installed")


def _replacements(value: Any) -> list[tuple[str, Any]]:
    """(kind, value): values of another JSON type, and malformed decimals and times."""
    if isinstance(value, bool):
        return [("type", "true")]
    if isinstance(value, int):
        return [("type", str(value)), ("type", value + 0.5)]
    if isinstance(value, str):
        # Harmless where the field is free text (an id "42"): both sides then accept.
        malformed = [("format", "1e3"), ("format", "yesterday"), ("format", "2026-11-25")]
        return [("type", 1), *(m for m in malformed if value[:1].isdigit() or value[:1] == "-")]
    if value is None:
        return [("type", 1), ("type", {})]
    if isinstance(value, list):
        return [("type", {}), ("type", "x")]
    return [("type", []), ("type", "x")]


def _variants(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str, Any]]:
    """(path, kind, replacement) for every field below `value`; _DELETE deletes it."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), "missing", _DELETE
            for kind, wrong in _replacements(item):
                yield (*path, key), kind, wrong
            yield from _variants(item, (*path, key))
    elif isinstance(value, list) and value:
        for kind, wrong in _replacements(value[0]):
            yield (*path, 0), kind, wrong
        yield from _variants(value[0], (*path, 0))


_DELETE = object()


def _apply(frame: dict[str, Any], path: Path_, replacement: Any) -> dict[str, Any]:
    changed = copy.deepcopy(frame)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    if replacement is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = replacement
    return changed


def _run_validate_js(frames: list[Any]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(NODE), "--input-type=module", "-e", SCRIPT],
        cwd=REPO_ROOT,
        input=json.dumps(frames),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    verdicts: list[dict[str, Any]] = json.loads(result.stdout)
    return verdicts


Case = tuple[str, str, dict[str, Any], bool]


def _cases() -> list[Case]:
    """(label, kind, frame, accepted by the schema) for every example and variant."""
    document = build_document()
    cases = []
    for name in messages_by_type(document, "send").values():
        validator = payload_validator(document, name)
        for example in document["components"]["messages"][name]["examples"]:
            payload = example["payload"]
            label = f"{name}:{example['name']}"
            cases.append((label, "example", payload, validator.is_valid(payload)))
            for path, kind, replacement in _variants(payload):
                frame = _apply(payload, path, replacement)
                shown = "missing" if replacement is _DELETE else f"= {replacement!r}"
                where = f"{label} {'/'.join(map(str, path))} {shown}"
                cases.append((where, kind, frame, validator.is_valid(frame)))
    return cases


def test_validate_js_accepts_and_rejects_exactly_what_the_schemas_do() -> None:
    cases = _cases()
    verdicts = _run_validate_js([frame for _, _, frame, _ in cases])

    disagreements = [
        f"{label}: schema {'accepts' if expected else 'rejects'}, validate.js "
        f"{'accepts' if got['ok'] else 'rejects (' + got['reason'] + ')'}"
        for (label, _, _, expected), got in zip(cases, verdicts, strict=True)
        if got["ok"] != expected
    ]
    assert not disagreements, f"{len(disagreements)} of {len(cases)}:\n" + "\n".join(
        disagreements[:40]
    )
    # The comparison means something: examples pass, and every missing field and every
    # wrong type, at any depth, is a rejection (and there are many of them).
    wrong = [(label, kind) for label, kind, _, ok in cases if ok != (kind in ("example", "format"))]
    assert all(kind == "format" for _, kind in wrong), wrong
    assert sum(kind in ("missing", "type") for _, kind, _, _ in cases) > 300


def test_unknown_fields_are_the_one_intended_difference() -> None:
    """The schemas promise no extra fields; the browser tolerates them from newer servers."""
    document = build_document()
    frames = []
    for name in messages_by_type(document, "send").values():
        example = document["components"]["messages"][name]["examples"][0]["payload"]
        frame = {**example, "added_in_a_later_version": 1}
        assert not payload_validator(document, name).is_valid(frame), name
        frames.append(frame)

    verdicts = _run_validate_js(frames)

    assert all(v["ok"] for v in verdicts), [v.get("reason") for v in verdicts]
