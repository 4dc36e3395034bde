"""The /ws/portfolio upgrade request in the OpenAPI document: a drf-spectacular hook.

OpenAPI cannot describe the frames on a WebSocket; it describes the handshake and points to
the AsyncAPI document (docs/api/asyncapi.yaml) for the rest.
"""

from typing import Any

from django.conf import settings

from realtime.asyncapi.document import ADDRESS
from realtime.conf import CloseCode

ASYNCAPI_DOCUMENT = "asyncapi.yaml"  # beside openapi.yaml in docs/api/
SECURITY_SCHEME = "cookieAuth"  # the name drf-spectacular gives DRF's SessionAuthentication
REFUSED = (
    "The handshake was refused before the upgrade: no valid session cookie, or an `Origin` "
    "that is not one of the deployment's hosts."
)


def add_websocket_path(
    result: dict[str, Any], generator: Any, request: Any, public: bool, **kwargs: Any
) -> dict[str, Any]:
    """Add `GET /ws/portfolio` (Upgrade: websocket) and the session cookie scheme it uses."""
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(
        SECURITY_SCHEME,
        {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME},
    )
    result.setdefault("paths", {})[ADDRESS] = {"get": _upgrade_operation()}
    return result


def _header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "in": "header",
        "name": name,
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _upgrade_operation() -> dict[str, Any]:
    return {
        "operationId": "portfolio_stream_connect",
        "summary": "Open the live portfolio stream (WebSocket)",
        "description": (
            "Upgrades the connection to a WebSocket carrying the signed-in trader's positions, "
            "orders and account as JSON frames. Authentication is the Django session cookie "
            "(sign in at /accounts/login/); the browser sends it with the handshake, and the "
            "`Origin` header must be the site's own scheme, host and port, or one of "
            "`DJANGO_CSRF_TRUSTED_ORIGINS` (Django's CSRF rule). "
            "The frames, their schemas, error codes and close codes are in the AsyncAPI "
            f"document, docs/api/{ASYNCAPI_DOCUMENT}. When live updates are off for the user "
            "the upgrade succeeds and the socket is closed at once with code "
            f"{CloseCode.FEATURE_DISABLED}; poll the REST API instead."
        ),
        "tags": ["realtime"],
        "parameters": [
            _header("Upgrade", "Always `websocket`.", enum=["websocket"]),
            _header("Connection", "Contains `Upgrade`."),
            _header("Sec-WebSocket-Key", "A random base64 nonce (RFC 6455)."),
            _header("Sec-WebSocket-Version", "The WebSocket protocol version.", enum=["13"]),
            _header("Origin", "The page's origin: the site's own scheme, host and port."),
        ],
        "security": [{SECURITY_SCHEME: []}],
        "externalDocs": {
            "description": "The frames on the socket (AsyncAPI 3.0)",
            "url": ASYNCAPI_DOCUMENT,
        },
        "responses": {
            "101": {
                "description": "Switching Protocols: the socket is open. Send `subscribe` "
                f"next; see docs/api/{ASYNCAPI_DOCUMENT}.",
                "headers": {
                    "Upgrade": {"schema": {"type": "string", "enum": ["websocket"]}},
                    "Connection": {"schema": {"type": "string", "enum": ["Upgrade"]}},
                    "Sec-WebSocket-Accept": {
                        "description": "Derived from Sec-WebSocket-Key (RFC 6455).",
                        "schema": {"type": "string"},
                    },
                },
            },
            "403": {"description": REFUSED},
        },
    }
