"""JSON Schemas of the frames as the wire carries them, derived from the pydantic models."""

from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

from realtime.error_codes import ErrorCode
from realtime.events import ClientMessage, ErrorMessage, PortfolioEvent

# What str(Decimal) gives for the values the server sends: no exponent, no "+".
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
DECIMAL_STRING = "DecimalString"
SCHEMA_REF = "#/components/schemas/{model}"
_DECIMAL_SCHEMA = {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}


class WireJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, tightened to what `model_dump(mode="json")` puts on the wire.

    Every field is present in a dumped frame, defaults included, so every field is required;
    decimals are plain decimal strings. Property titles (the field name again) are left out.
    """

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        return self.mode == "serialization" or super().field_is_required(field, total)

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        if self.mode == "serialization":
            return dict(_DECIMAL_SCHEMA)
        return super().decimal_schema(schema)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def server_frame_models() -> list[type[BaseModel]]:
    """The models of server -> client frames, in the order of the PortfolioEvent union."""
    return _union_members(PortfolioEvent)


def client_frame_models() -> list[type[BaseModel]]:
    """The models of client -> server frames, in the order of the ClientMessage union."""
    return _union_members(ClientMessage)


def frame_type(model: type[BaseModel]) -> str:
    """The `type` a model's frames carry (its Literal)."""
    (value,) = get_args(model.model_fields["type"].annotation)
    return str(value)


def component_schemas() -> dict[str, JsonSchemaValue]:
    """Every model's schema by name, with $refs into `#/components/schemas/`."""
    schemas: dict[str, JsonSchemaValue] = {
        DECIMAL_STRING: {
            **_DECIMAL_SCHEMA,
            "description": "Money, a price, a quantity or a ratio, exact: a decimal string "
            "at its column's precision (money 2 places, prices 8, quantities and ratios 6).",
            "examples": ["1100.00", "-0.012345"],
        }
    }
    for union, mode in ((PortfolioEvent, "serialization"), (ClientMessage, "validation")):
        for name, schema in _definitions(union, mode).items():  # type: ignore[arg-type]
            if schemas.setdefault(name, schema) != schema:
                raise ValueError(f"two different schemas are both named {name}")
    code = schemas[ErrorMessage.__name__]["properties"]["code"]
    # The consumer sends only these (tests/docs check it); realtime.error_codes explains each.
    code["enum"] = [c.value for c in ErrorCode]
    return schemas


def _union_members(union: Any) -> list[type[BaseModel]]:
    members, _field = get_args(union)  # Annotated[A | B | ..., Field(discriminator=...)]
    return list(get_args(members))


def _definitions(union: Any, mode: JsonSchemaMode) -> dict[str, JsonSchemaValue]:
    schema = TypeAdapter(union).json_schema(
        mode=mode, ref_template=SCHEMA_REF, schema_generator=WireJsonSchema
    )
    return {name: _asyncapi_schema(value) for name, value in schema["$defs"].items()}


def _asyncapi_schema(value: Any) -> Any:
    """AsyncAPI's Schema Object: a string discriminator (draft 7), decimals by reference."""
    if isinstance(value, list):
        return [_asyncapi_schema(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {key: _asyncapi_schema(item) for key, item in value.items()}
    if converted == _DECIMAL_SCHEMA:
        return {"$ref": SCHEMA_REF.format(model=DECIMAL_STRING)}
    if isinstance(converted.get("discriminator"), dict):
        converted["discriminator"] = converted["discriminator"]["propertyName"]
    return converted
