"""Row shapes have one source, realtime/events/schemas.py; the copies that cannot import it
(REST's serializers: trading never imports realtime; the browser's modules) are checked here."""

import difflib

import pytest
from rest_framework import serializers

from realtime.events.row_fields import MODULE_PATH, REGENERATE, ROWS, render_module
from realtime.events.schemas import AccountData, FillData, OrderData, PositionData, Schema
from trading.api.serializers import (
    AccountSerializer,
    FillSerializer,
    OrderSerializer,
    PositionSerializer,
)

# REST's account says which broker holds it and its trading day; the socket's does not.
REST_ONLY_ACCOUNT_FIELDS = ["provider", "is_live", "trading_day"]


def test_browser_row_module_is_up_to_date() -> None:
    assert MODULE_PATH.exists(), f"{MODULE_PATH} is missing; create it with: {REGENERATE}"
    diff = "".join(
        difflib.unified_diff(
            MODULE_PATH.read_text().splitlines(keepends=True),
            render_module().splitlines(keepends=True),
            "static/portfolio/js/row_fields.js (committed)",
            "generated from the schemas",
            n=1,
        )
    )
    assert not diff, f"row_fields.js is out of date; regenerate it with: {REGENERATE}\n{diff}"


def test_browser_row_module_exports_every_row() -> None:
    assert set(ROWS.values()) == {PositionData, OrderData, FillData, AccountData}


@pytest.mark.parametrize(
    ("serializer", "schema", "rest_only"),
    [
        (PositionSerializer, PositionData, []),
        (OrderSerializer, OrderData, []),
        (FillSerializer, FillData, []),
        (AccountSerializer, AccountData, REST_ONLY_ACCOUNT_FIELDS),
    ],
)
def test_rest_rows_have_the_schemas_fields(
    serializer: type[serializers.ModelSerializer], schema: type[Schema], rest_only: list[str]
) -> None:
    """REST and the socket send the same rows (REST's order of fields is its own)."""
    fields = list(serializer.Meta.fields)
    assert sorted(fields) == sorted([*schema.model_fields, *rest_only]), serializer.__name__
    assert len(fields) == len(set(fields)), serializer.__name__
