"""Secrets the app must read back, kept encrypted in the database: the owners' TOTP keys.

A TOTP key cannot be hashed like a password (the server computes codes from it), so whoever
reads the table (a leaked backup, a read replica's operator, a SQL injection elsewhere) could
otherwise compute every owner's second factor.  Sealed, the column is useless without the
app's ``SECRET_KEY``, which lives in the app servers' environment, not in the database.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) with a key derived from
``SECRET_KEY`` by HKDF-SHA256 under its own label, so it is not the key that signs cookies and
CSRF tokens.  Rotating ``SECRET_KEY`` the way Flask rotates it keeps the secrets readable: move
the old key to ``SECRET_KEY_FALLBACKS``, and ``flask --app ais reseal`` re-encrypts each secret
with the new one; after that the old key can go.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

LABEL = b"ais sealed secrets v1"


class UnreadableSecret(ValueError):
    """Sealed with a key that is neither SECRET_KEY nor one of SECRET_KEY_FALLBACKS (or altered)."""


def derived_key(secret_key: str | bytes) -> bytes:
    material = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=LABEL).derive(material)
    return base64.urlsafe_b64encode(key)


@lru_cache(maxsize=8)
def _sealer(secret_key: str | bytes, fallbacks: tuple) -> MultiFernet:
    # The first key encrypts; every key decrypts (MultiFernet tries them in order).
    return MultiFernet([Fernet(derived_key(key)) for key in (secret_key, *fallbacks)])


def sealer(config=None) -> MultiFernet:
    config = current_app.config if config is None else config
    return _sealer(config["SECRET_KEY"], tuple(config.get("SECRET_KEY_FALLBACKS") or ()))


def seal(plaintext: str, config=None) -> str:
    return sealer(config).encrypt(plaintext.encode("utf-8")).decode("ascii")


def unseal(token: str, config=None) -> str:
    try:
        return sealer(config).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as error:
        raise UnreadableSecret("sealed with an unknown key, or altered") from error


def sealed_with_current_key(token: str, config=None) -> bool:
    """Whether ``token`` opens with SECRET_KEY itself (not only with a fallback)."""
    config = current_app.config if config is None else config
    try:
        Fernet(derived_key(config["SECRET_KEY"])).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def reseal(token: str, config=None) -> str:
    """The same secret, encrypted with SECRET_KEY (raises UnreadableSecret if no key opens it)."""
    try:
        return sealer(config).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as error:
        raise UnreadableSecret("sealed with an unknown key, or altered") from error
