"""The browser's copy of the row shapes (static/portfolio/js/row_fields.js), from the schemas."""

import json
from pathlib import Path

from django.conf import settings

from realtime.events.schemas import AccountData, FillData, OrderData, PositionData, Schema

MODULE_PATH = Path(settings.BASE_DIR) / "static" / "portfolio" / "js" / "row_fields.js"
REGENERATE = ".venv/bin/python manage.py export_row_fields"

# The JS constant each row's field names are exported as.
ROWS: dict[str, type[Schema]] = {
    "POSITION_ROW": PositionData,
    "ORDER_ROW": OrderData,
    "FILL_ROW": FillData,
    "ACCOUNT_ROW": AccountData,
}


def render_module() -> str:
    """The module's text: each row's field names, in the order the server sends them."""
    lines = [
        "// Generated from realtime/events/schemas.py: do not edit; regenerate with",
        f"// `{REGENERATE}` (tests/test_row_shapes.py fails when it is stale).",
        "// The fields of each row the server sends, on the socket and over REST, in the",
        "// socket's order (REST's account adds provider, is_live and trading_day).",
        "",
    ]
    for name, schema in ROWS.items():
        fields = json.dumps(list(schema.model_fields))
        lines.append(f"export const {name} = Object.freeze({fields});")
    return "\n".join(lines) + "\n"
