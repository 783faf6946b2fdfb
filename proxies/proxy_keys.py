"""Proxy keys: a proxy's identity carries its credentials only as a keyed digest.

``Proxy.key`` is ``scheme://host:port`` for a proxy without credentials and
``scheme://host:port#<HMAC-SHA256(secret, credentials)>`` for one with them: two proxies that
differ only in credentials stay distinct, and nobody without the deployment secret can test a
guessed password against a key (a bare hash could be brute-forced from a listing).

The secret comes from, first found: :func:`use_secret`; the environment variable named by
``PROXY_POOL_KEY_SECRET_ENV`` (default ``PROXY_POOL_KEY_SECRET``); the file
``PROXY_POOL_KEY_SECRET_FILE``; or, for whatever persists or shares keys (stores, the API and
its client), a secret generated once into ``PROXY_POOL_DATA_DIR/key-secret`` (mode 0600). A
process that never persists keys (the static pool) and has none configured uses a random
secret of its own. Every machine sharing one pool must share its secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from proxies.settings import PoolSettings

DEFAULT_ENV = "PROXY_POOL_KEY_SECRET"
MIN_SECRET = 16


class SecretError(Exception):
    """A configured secret cannot be used; the message says what to do (never the secret)."""


_configured: bytes | None = None
_ephemeral = secrets.token_bytes(32)


def use_secret(secret: str | bytes | None) -> None:
    """Use ``secret`` for every key this process makes (None: back to the environment)."""
    global _configured
    if secret is None:
        _configured = None
        return
    raw = secret.encode() if isinstance(secret, str) else secret
    if len(raw) < MIN_SECRET:
        raise SecretError(f"the proxy key secret needs at least {MIN_SECRET} characters")
    _configured = raw


def current_secret() -> bytes:
    if _configured is not None:
        return _configured
    env = os.environ.get(DEFAULT_ENV)
    if env and len(env) >= MIN_SECRET:
        return env.encode()
    return _ephemeral


def credential_digest(username: str | None, password: str | None) -> str:
    """HMAC-SHA256 of the credentials (unambiguously encoded), 16 hex digits."""
    message = json.dumps([username, password], ensure_ascii=False).encode()
    return hmac.new(current_secret(), message, hashlib.sha256).hexdigest()[:16]


def configure_keys(settings: Any) -> str:
    """Settle this process's secret from the settings, generating one if none is configured;
    return where it came from (``environment``, ``file`` or ``generated``)."""
    s = PoolSettings.wrap(settings)
    var = s.get("PROXY_POOL_KEY_SECRET_ENV") or DEFAULT_ENV
    if os.environ.get(var):
        # the default variable is read at each use (as by a process with no settings at all)
        use_secret(None if var == DEFAULT_ENV else os.environ[var])
        if len(os.environ[var]) < MIN_SECRET:
            raise SecretError(f"the proxy key secret in ${var} needs {MIN_SECRET}+ characters")
        return "environment"
    path = s.getoptional("PROXY_POOL_KEY_SECRET_FILE")
    if path:
        use_secret(read_secret_file(Path(path), "PROXY_POOL_KEY_SECRET_FILE"))
        return "file"
    use_secret(generated_secret(Path(s.get("PROXY_POOL_DATA_DIR")) / "key-secret"))
    return "generated"


def read_secret_file(path: Path, setting: str) -> str:
    try:
        text = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"{setting} {path}: cannot read it ({exc.strerror})") from None
    if len(text) < MIN_SECRET:
        raise SecretError(f"{setting} {path}: the secret needs at least {MIN_SECRET} characters")
    return text


def generated_secret(path: Path) -> str:
    """The secret in ``path``, created (mode 0600, never overwritten) if it does not exist."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SecretError(f"cannot read {path} ({exc.strerror})") from None
    value = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(
            f"cannot create {path} ({exc.strerror}): set PROXY_POOL_DATA_DIR to a writable "
            "directory, or configure the secret in the environment"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value
