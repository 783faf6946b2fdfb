"""API tokens of the data service: created and revoked by ``scrapy tokens``, kept hashed in a
file outside the repository (``SERVICE_TOKENS_FILE``, mode 0600), or given in the environment
(the variable named by ``SERVICE_TOKENS_ENV``, comma-separated).

A token reads ``crw_<id>_<secret>``; only the SHA-256 of the whole token is stored, and it is
shown once, when created. Tokens are compared in constant time and never logged.

>>> import tempfile, pathlib
>>> tokens = TokenFile(pathlib.Path(tempfile.mkdtemp()) / "tokens.json")
>>> token, entry = tokens.create("ci", role="editor")
>>> tokens.verify(token).name, tokens.verify(token + "x")
('ci', None)
>>> tokens.revoke("ci"), tokens.verify(token)
(1, None)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crawler.store import utc_now_iso

ROLES = ("viewer", "editor", "admin")
PREFIX = "crw_"
MIN_ENV_TOKEN = 16
MAX_TOKEN = 256


class TokenError(ValueError):
    """A token file or environment value that cannot be used; the message says why."""


@dataclass(frozen=True)
class TokenEntry:
    id: str
    name: str
    role: str
    hash: str
    created_at: str

    def public(self) -> dict[str, str]:
        """What a listing shows: everything but the hash."""
        return {"id": self.id, "name": self.name, "role": self.role, "created_at": self.created_at}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenFile:
    """The hashed tokens in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def entries(self) -> list[TokenEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise TokenError(f"cannot read the API token file {self.path}: {exc}") from None
        try:
            return [TokenEntry(**entry) for entry in data.get("tokens", [])]
        except (TypeError, AttributeError):
            raise TokenError(
                f"the API token file {self.path} is not in the expected shape"
            ) from None

    def _write(self, entries: list[TokenEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"tokens": [asdict(e) for e in entries]}, out, indent=1)
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def create(self, name: str, role: str = "editor") -> tuple[str, TokenEntry]:
        """A new token (returned once, never stored) and its entry."""
        if role not in ROLES:
            raise TokenError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        name = name.strip()
        if not name or len(name) > 100:
            raise TokenError("a token needs a name of 1 to 100 characters")
        entries = self.entries()
        if any(e.name == name for e in entries):
            raise TokenError(f"a token named {name!r} exists: revoke it first or pick another name")
        ident = secrets.token_hex(4)
        token = f"{PREFIX}{ident}_{secrets.token_urlsafe(32)}"
        entry = TokenEntry(ident, name, role, token_hash(token), utc_now_iso())
        self._write([*entries, entry])
        return token, entry

    def revoke(self, id_or_name: str) -> int:
        entries = self.entries()
        kept = [e for e in entries if id_or_name not in (e.id, e.name)]
        if len(kept) != len(entries):
            self._write(kept)
        return len(entries) - len(kept)

    def verify(self, token: str) -> TokenEntry | None:
        if not token.startswith(PREFIX) or len(token) > MAX_TOKEN:
            return None
        ident = token[len(PREFIX) :].partition("_")[0]
        digest = token_hash(token)
        for entry in self.entries():
            if entry.id == ident and hmac.compare_digest(entry.hash, digest):
                return entry
        return None


def env_tokens(variable: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Tokens given in the environment variable ``variable`` (comma-separated)."""
    environ = os.environ if environ is None else environ
    tokens = [t.strip() for t in environ.get(variable, "").split(",") if t.strip()]
    for token in tokens:
        if len(token) < MIN_ENV_TOKEN:
            raise TokenError(f"a token in ${variable} has fewer than {MIN_ENV_TOKEN} characters")
    return tokens


class TokenCheck:
    """Who a bearer token belongs to: a file token's entry, or an environment token (admin)."""

    def __init__(self, path: Path, env_variable: str, environ: Mapping[str, str] | None = None):
        self.file = TokenFile(path)
        self.env_variable = env_variable
        self.environ = environ

    def configured(self) -> bool:
        return bool(env_tokens(self.env_variable, self.environ) or self.file.entries())

    def identify(self, token: str) -> dict[str, Any] | None:
        if not token or len(token) > MAX_TOKEN:
            return None
        for known in env_tokens(self.env_variable, self.environ):
            if hmac.compare_digest(token_hash(known), token_hash(token)):
                return {"id": "env", "name": f"${self.env_variable}", "role": "admin"}
        entry = self.file.verify(token)
        return entry.public() if entry is not None else None
