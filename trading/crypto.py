"""Encryption of broker credentials at rest (Fernet: AES-128-CBC with HMAC-SHA256)."""

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class CredentialsUnreadableError(Exception):
    """The stored credentials were encrypted under another key."""


def _fernet() -> Fernet:
    if settings.BROKER_CREDENTIALS_KEY:
        return Fernet(settings.BROKER_CREDENTIALS_KEY.encode())
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"portfolio-stream broker credentials"
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def credentials_encrypt(credentials: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def credentials_decrypt(token: str) -> dict[str, str]:
    try:
        data: dict[str, str] = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadableError(
            "broker credentials cannot be decrypted with this key"
        ) from None
    return data
