"""Generation of the OpenAPI document: the views' annotations and the decimal fields' pattern.

Imported by drf-spectacular alone (a preprocessing hook in settings.SPECTACULAR_SETTINGS),
so that a server process never loads its AutoSchema (see trading.api.schema).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, extend_schema

from trading.api.schema import PENDING
from trading.api.serializers import DecimalStringField


def annotations_apply(endpoints: list[Any], **_: Any) -> list[Any]:
    """Hand the recorded view annotations to drf-spectacular, once per process."""
    # The URL conf, and so every view module, is loaded by now: the endpoints come from it.
    while PENDING:
        method, kwargs = PENDING.pop(0)
        extend_schema(**kwargs)(method)
    return endpoints


# drf-spectacular's extension base is untyped; subclassing registers the extension.
class DecimalStringFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """Documents the digits a DecimalStringField takes: drf-spectacular's own pattern lets
    "", "-" and "." through (every part optional), which the API then refuses."""

    target_class = DecimalStringField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Any:
        schema = auto_schema._map_serializer_field(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True
        )
        places = self.target.decimal_places
        whole = self.target.max_digits - places
        schema["pattern"] = (
            rf"^-?(?:[0-9]{{1,{whole}}}(?:\.[0-9]{{0,{places}}})?|\.[0-9]{{1,{places}}})$"
        )
        return schema
