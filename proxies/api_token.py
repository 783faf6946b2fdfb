"""The API token: what every state change on the pool's HTTP API must present.

The token comes from the environment variable named by ``PROXY_POOL_API_TOKEN_ENV`` (default
``PROXY_POOL_API_TOKEN``) or from the file ``PROXY_POOL_API_TOKEN_FILE`` (outside the
repository). With neither, ``serve`` on a loopback address generates one into
``PROXY_POOL_DATA_DIR/api-token`` (mode 0600), which clients on the same machine read; a
non-loopback address without a configured token is refused. Tokens are compared in constant
time and never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path
from typing import Any

from proxies.proxy_keys import MIN_SECRET, SecretError, generated_secret, read_secret_file
from proxies.settings import PoolSettings
from vocab.datadir import project_root


class TokenError(SecretError):
    """No usable token where one is required; the message says what to do."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def configured_token(settings: Any) -> str | None:
    """The token from the environment or the token file; None if neither is set."""
    s = PoolSettings.wrap(settings)
    var = s.get("PROXY_POOL_API_TOKEN_ENV") or "PROXY_POOL_API_TOKEN"
    value = os.environ.get(var, "").strip()
    if value:
        if len(value) < MIN_SECRET:
            raise TokenError(f"the API token in ${var} needs at least {MIN_SECRET} characters")
        return value
    path = s.getoptional("PROXY_POOL_API_TOKEN_FILE")
    if not path:
        return None
    resolved = Path(path).expanduser().resolve()
    if resolved.is_relative_to(project_root) and not resolved.is_relative_to(project_root / "data"):
        raise TokenError(
            f"PROXY_POOL_API_TOKEN_FILE {path} is inside the repository: keep it outside"
        )
    return read_secret_file(resolved, "PROXY_POOL_API_TOKEN_FILE")


def generated_token_path(settings: Any) -> Path:
    return Path(PoolSettings.wrap(settings).get("PROXY_POOL_DATA_DIR")) / "api-token"


def service_token(settings: Any, host: str) -> str:
    """The token ``serve`` enforces: configured, or generated when bound to loopback."""
    token = configured_token(settings)
    if token:
        return token
    if not is_loopback(host):
        raise TokenError(
            f"refusing to listen on {host} (not loopback) without an API token: set "
            "PROXY_POOL_API_TOKEN in the environment or PROXY_POOL_API_TOKEN_FILE"
        )
    return generated_secret(generated_token_path(settings))


def client_token(settings: Any) -> str | None:
    """The token a client sends: configured, or the one ``serve`` generated on this machine."""
    token = configured_token(settings)
    if token:
        return token
    path = generated_token_path(settings)
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison (the time taken does not tell how much of a guess was right)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
