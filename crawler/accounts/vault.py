"""Cookies of logged-in accounts, encrypted with the deployment's key before they are stored.

The key is a Fernet key (cryptography: AES-128-CBC with HMAC-SHA256, a timestamp, a random IV),
read from the environment variable named by ``ACCOUNTS_COOKIE_KEY_ENV`` or from the file
``ACCOUNTS_COOKIE_KEY_FILE``: never a setting's value, never in the repository. Make one with
``scrapy accounts keygen``. Without a key, cookies are not kept: every process logs in anew.

A blob that does not decrypt (another key, tampered, too old) reads as no cookies.

>>> vault = CookieVault(new_key())
>>> blob = vault.seal([{"name": "sid", "value": "s3cr3t", "domain": "example.com"}])
>>> b"s3cr3t" in blob
False
>>> vault.open(blob)[0]["value"]
's3cr3t'
>>> CookieVault(new_key()).open(blob) is None
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MAX_KEY_FILE = 4096


class KeyProblem(ValueError):
    """The configured key cannot be read or is not a Fernet key."""


def new_key() -> str:
    from cryptography.fernet import Fernet  # here: only crawls that keep cookies load it

    return Fernet.generate_key().decode()


class CookieVault:
    def __init__(self, key: str | bytes, max_age: float | None = None) -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise KeyProblem("not a Fernet key (32 bytes, url-safe base64)") from None
        self.max_age = int(max_age) if max_age else None

    def seal(self, cookies: list[dict[str, Any]]) -> bytes:
        return self._fernet.encrypt(json.dumps(cookies, separators=(",", ":")).encode())

    def open(self, blob: bytes | str | None) -> list[dict[str, Any]] | None:
        from cryptography.fernet import InvalidToken

        if not blob:
            return None
        try:
            data = self._fernet.decrypt(blob, ttl=self.max_age)
        except (InvalidToken, TypeError, ValueError):
            return None
        cookies = json.loads(data)
        return cookies if isinstance(cookies, list) else None


def vault_from_settings(settings: Any, environ: Any = None) -> CookieVault | None:
    """The vault of ``ACCOUNTS_COOKIE_KEY_ENV`` / ``ACCOUNTS_COOKIE_KEY_FILE``; None without a
    key; :class:`KeyProblem` (one line, never the key) when the key is unusable."""
    environ = os.environ if environ is None else environ
    key = ""
    var = settings.get("ACCOUNTS_COOKIE_KEY_ENV")
    if var and environ.get(var):
        key, origin = environ[var].strip(), f"${var}"
    elif settings.get("ACCOUNTS_COOKIE_KEY_FILE"):
        path = Path(settings.get("ACCOUNTS_COOKIE_KEY_FILE"))
        origin = str(path)
        try:
            key = path.read_text(encoding="ascii")[:MAX_KEY_FILE].strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyProblem(f"{path}: the cookie key cannot be read ({exc})") from None
    if not key:
        return None
    try:
        return CookieVault(key, settings.getfloat("ACCOUNTS_COOKIES_MAX_AGE"))
    except KeyProblem as exc:
        raise KeyProblem(f"{origin}: {exc}") from None
