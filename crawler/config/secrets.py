"""Secrets in the deployment file: which values are secrets, the references that give them
(``{env: NAME}``, ``{file: /path}``), and how a secret is shown (never).

A value is a secret when it is held by a setting, or a key inside a setting's mapping, whose name
says so (:func:`is_secret_name`: ``..._SECRET``, ``..._PASSWORD``, ``..._TOKEN``, ``..._API_KEY``,
``client_secret``...; never a ``..._ENV`` or ``..._FILE``, which only name where a secret is),
or when it is a URL carrying a password (``mongodb://user:pw@host/``). In the file a secret is
given only as a reference; an inline one is an error at its line.

>>> is_secret_name("FTP_PASSWORD"), is_secret_name("client_secret")
(True, True)
>>> is_secret_name("SIGNIN_SECRET_ENV"), is_secret_name("PROXY_POOL_JUDGE_KEY")
(False, False)
>>> inline_secret("STORE_URI", "mongodb://bob:pw@db:27017/items")
((), 'a URL with a password')
>>> inline_secret("SIGNIN_PROVIDERS", {"corp": {"client_id": "x", "client_secret": "s3"}})
(('corp', 'client_secret'), "a secret at 'corp.client_secret'")
>>> inline_secret("STORE_URI", {"env": "MONGO_URI"}) is None
True
>>> inline_secret("SESSION_LOGIN_FORM", {"user": "bob", "password": "${SITE_PASSWORD}"}) is None
True
>>> redact("STORE_URI", "mongodb://bob:pw@db/items")
'mongodb://***@db/items'
>>> redact("NODES", {"a": {"url": "http://u:p@10.0.0.7:6800", "password": "x"}})
{'a': {'url': 'http://***@10.0.0.7:6800', 'password': '***'}}
>>> redact("STORE_URI", "mongodb://db/items", hidden=[()])
'***'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vocab import mask_url

HIDDEN = "***"
MAX_SECRET_FILE = 64 * 1024  # bytes of a secret file read at most
_SECRET_NAME = re.compile(
    r"(^|_)(SECRET|PASSWORD|PASSWD|PASS|TOKEN|TOKENS|API_KEY|SECRET_KEY|ACCESS_KEY|PRIVATE_KEY"
    r"|CREDENTIALS)$",
    re.IGNORECASE,
)
_NOT_SECRET = re.compile(r"_(ENV|FILE|ID)$", re.IGNORECASE)
# ${NAME} (the environment) or {account.NAME} (a leased account's, crawler.accounts)
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\{account\.[A-Za-z_][A-Za-z0-9_]*\}")

Where = tuple[str | int, ...]


class BrokenReference(ValueError):
    """A reference that cannot be followed (unset variable, missing or refused file)."""


def is_secret_name(name: str) -> bool:
    """Whether a setting (or a key inside one) with this name holds a secret."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def has_password(text: str) -> bool:
    """A URL carrying credentials (``scheme://user:pw@host``, ``scheme://token@host``) or a bare
    ``user:pw@host``; an email address is none.

    >>> has_password("crawler@localhost"), has_password("bob:pw@10.0.0.1:80")
    (False, True)
    """
    if mask_url(text) == text:
        return False
    return "://" in text or ":" in text.rpartition("@")[0]


def inline_secret(name: str, value: Any, path: Where = ()) -> tuple[Where, str] | None:
    """Where inside ``value`` (of setting ``name``, or of the key ``name`` inside one) a secret
    is written inline, and what it is; None when there is none. References are not inline;
    empty values hold nothing."""
    if is_reference(value) or value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, Mapping):
        for key, inner in value.items():
            found = inline_secret(str(key), inner, (*path, key))
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            found = inline_secret(name, inner, (*path, i))
            if found:
                return found
        return None
    where = f" at {'.'.join(map(str, path))!r}" if path else ""
    if isinstance(value, str) and _PLACEHOLDER.fullmatch(value):
        return None  # a placeholder, filled in where it is used (login forms)
    if is_secret_name(name):
        return path, f"a secret{where}"
    if isinstance(value, str) and has_password(value):
        return path, f"a URL with a password{where}"
    return None


def is_reference(value: Any) -> bool:
    """``{env: NAME}`` or ``{file: PATH}``: one key, a text value."""
    return (
        isinstance(value, Mapping)
        and len(value) == 1
        and next(iter(value)) in ("env", "file")
        and isinstance(next(iter(value.values())), str)
    )


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def follow(
    reference: Mapping[str, str], environ: Mapping[str, str], base: Path, checkout: Path
) -> str:
    """The text a reference gives: the environment variable's value, or the file's text (at most
    :data:`MAX_SECRET_FILE` bytes, its final newline dropped; a file inside the checkout is
    refused). A relative path is relative to the deployment file's directory."""
    kind, target = next(iter(reference.items()))
    if kind == "env":
        if target not in environ:
            raise BrokenReference(f"environment variable {target} is not set")
        return environ[target]
    path = Path(os.path.expanduser(target))
    path = path if path.is_absolute() else base / path
    if inside(path, checkout):
        raise BrokenReference(
            f"secret file {target} is inside the project's checkout: keep secrets outside it"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise BrokenReference(f"cannot read secret file {target}: {exc.strerror}") from None
    if len(data) > MAX_SECRET_FILE:
        raise BrokenReference(f"secret file {target} is larger than {MAX_SECRET_FILE} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BrokenReference(f"secret file {target} is not UTF-8 text") from None
    return text.removesuffix("\n").removesuffix("\r")


def redact(name: str, value: Any, hidden: Iterable[Where] = (), at: Where = ()) -> Any:
    """``value`` as it may be shown: secrets (by name, or at the ``hidden`` paths references
    gave) hidden, credentials in URLs masked."""
    hidden = tuple(hidden)
    if value is None or value == "" or isinstance(value, bool):
        return value
    if at in hidden or (is_secret_name(name) and not isinstance(value, Mapping | list | tuple)):
        return HIDDEN
    if isinstance(value, Mapping):
        return {k: redact(str(k), v, hidden, (*at, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(name, v, hidden, (*at, i)) for i, v in enumerate(value)]
    if isinstance(value, str) and has_password(value):
        return mask_url(value)
    return value
