"""Who may do what: the three roles, a signed-in person's identity, and the roles file that maps
identities to roles (``SIGNIN_ROLES_FILE``, YAML, outside the repository).

::

    # written by `scrapy auth people add`, or by hand
    people:
      - id: wechat:oUnIoNiD0123456789abcdefghij   # a WeChat unionid (else openid)
        role: admin
        name: Wang
      - id: sub:gitlab:42                         # provider:subject of an OpenID Connect sign-in
        role: editor
      - id: email:alice@example.com                # a verified email address
        role: editor
      - id: group:gitlab:data-team                 # provider:group, from the groups claim
        role: viewer
      - id: wecom:zhangsan                         # provider:user-id, short for sub:wecom:zhangsan
        role: editor
      - id: group:wecom:3                          # a WeCom department, GitHub organisation,
        role: viewer                               # DingTalk corpId or Feishu tenant_key

A person gets the highest role of every entry matching one of their identities; none: no access.
The file is read again whenever it changes, so a role taken away holds from the next request.

>>> who = Identity("wechat", "wechat", "oU1", ("wechat:oU1", "wechat:oO1"), "Wang")
>>> roles = Roles([{"id": "wechat:oO1", "role": "viewer"}, {"id": "wechat:oU1", "role": "editor"}])
>>> roles.role_for(who.keys), allows("editor", "viewer"), allows("viewer", "editor")
('editor', True, False)
>>> Roles([{"id": "github:1001", "role": "viewer"}]).entries[0]["id"]
'sub:github:1001'
>>> Roles([{"id": "group:github:acme", "role": "viewer"}]).names_groups("github")
True
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROLES = ("viewer", "editor", "admin")
RANK = {role: n for n, role in enumerate(ROLES, start=1)}
ID = re.compile(r"^(wechat:[A-Za-z0-9_-]{1,128}|sub:[a-z0-9_-]{1,40}:\S{1,255}|email:\S{3,254}"
                r"|group:[a-z0-9_-]{1,40}:\S{1,255})$")  # fmt: skip
# ``<provider>:<user-id>``: short for ``sub:<provider>:<user-id>`` (the prefixes above excepted)
SHORT = re.compile(r"^([a-z0-9][a-z0-9_-]{0,39}):(\S{1,255})$")
PREFIXES = ("wechat", "sub", "email", "group")
MAX_FILE = 1_000_000
MAX_PEOPLE = 10_000

logger = logging.getLogger(__name__)


class RolesError(ValueError):
    """A roles file or entry that cannot be used; the message says which and why."""


def allows(role: str | None, required: str) -> bool:
    """Whether ``role`` may do what ``required`` may (admin > editor > viewer)."""
    return RANK.get(role or "", 0) >= RANK[required]


@dataclass(frozen=True)
class Identity:
    """Who signed in: ``key`` is the person's own id (``wechat:<unionid or openid>``,
    ``sub:<provider>:<subject>``); ``keys`` every id a roles entry may name."""

    provider: str
    dialect: str
    key: str
    keys: tuple[str, ...]
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Identity:
        return cls(
            provider=str(data["provider"]),
            dialect=str(data["dialect"]),
            key=str(data["key"]),
            keys=tuple(data["keys"]),
            name=str(data.get("name") or ""),
        )


def normal_id(ident: Any) -> Any:
    """``<provider>:<user-id>`` as ``sub:<provider>:<user-id>``; anything else as it is."""
    short = SHORT.match(ident) if isinstance(ident, str) else None
    if short and short.group(1) not in PREFIXES:
        return f"sub:{short.group(1)}:{short.group(2)}"
    return ident


def check_entry(entry: Any, where: str) -> dict[str, str]:
    if not isinstance(entry, Mapping):
        raise RolesError(f"{where}: an entry is a mapping with id and role")
    ident, role = normal_id(entry.get("id")), entry.get("role")
    if not isinstance(ident, str) or not ID.match(ident):
        raise RolesError(
            f"{where}: id {ident!r} is not wechat:<unionid|openid>, sub:<provider>:<subject> "
            "(or <provider>:<subject>), email:<address> or group:<provider>:<group>"
        )
    if role not in ROLES:
        raise RolesError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    name = entry.get("name")
    out = {"id": ident if not ident.startswith("email:") else ident.lower(), "role": role}
    if name:
        out["name"] = str(name)[:100]
    return out


class Roles:
    """The entries of a roles file, checked."""

    def __init__(self, entries: Iterable[Any], where: str = "roles") -> None:
        self.entries = [check_entry(e, f"{where}: entry {n}") for n, e in enumerate(entries, 1)]

    def role_for(self, keys: Iterable[str]) -> str | None:
        wanted = {k.lower() if k.startswith("email:") else k for k in keys}
        best: str | None = None
        for entry in self.entries:
            if entry["id"] in wanted and RANK[entry["role"]] > RANK.get(best or "", 0):
                best = entry["role"]
        return best

    def names_groups(self, provider: str) -> bool:
        """Whether an entry names a group (department, organisation) of ``provider``."""
        return any(e["id"].startswith(f"group:{provider}:") for e in self.entries)

    def admins(self) -> int:
        return sum(1 for e in self.entries if e["role"] == "admin")


class RolesFile:
    """The YAML file; read again when its modification time or size changes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._roles = Roles([])

    def roles(self) -> Roles:
        """The roles as the file says now; a broken file gives no one a role (logged once)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return Roles([])
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._roles = self._read()
                except RolesError as exc:
                    logger.error("%s: nobody who signs in has a role until it is fixed", exc)
                    self._roles = Roles([])
            return self._roles

    def check(self) -> Roles:
        """The roles now; raises :class:`RolesError` for a broken file (``scrapy serve`` at
        start, the commands that write it)."""
        return self._read() if self.path.exists() else Roles([])

    def _read(self) -> Roles:
        where = str(self.path)
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_FILE + 1)
        except OSError as exc:
            raise RolesError(f"{where}: cannot read: {exc.strerror}") from None
        if len(data) > MAX_FILE:
            raise RolesError(f"{where}: larger than {MAX_FILE} bytes")
        try:
            doc = yaml.safe_load(data.decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            raise RolesError(f"{where}{at}: not valid YAML") from None
        people = doc.get("people", []) if isinstance(doc, Mapping) else None
        if not isinstance(people, list) or len(people) > MAX_PEOPLE:
            raise RolesError(f"{where}: expected `people:` with a list of at most {MAX_PEOPLE}")
        return Roles(people, where)

    def set(self, ident: str, role: str, name: str | None = None) -> bool:
        """Give ``ident`` the role (replacing its entry); True if it was new."""
        entry = check_entry({"id": ident, "role": role, "name": name}, "the new entry")
        entries = self.check().entries
        new = not any(e["id"] == entry["id"] for e in entries)
        self._write([e for e in entries if e["id"] != entry["id"]] + [entry])
        return new

    def remove(self, ident: str) -> bool:
        ident = normal_id(ident)
        entries = self.check().entries
        kept = [e for e in entries if e["id"] != ident]
        if len(kept) != len(entries):
            self._write(kept)
        return len(kept) != len(entries)

    def _write(self, entries: list[dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = (
            "# Who may sign in to the data service, and with which role (viewer, editor, admin).\n"
            "# Written by `scrapy auth people add|remove`; docs/auth.md explains the ids.\n"
            + yaml.safe_dump({"people": entries}, allow_unicode=True, sort_keys=False)
        )
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        tmp.replace(self.path)


def people_listing(roles: list[dict[str, str]], seen: list[dict[str, Any]], role_for: Any):
    """Entries of the roles file, then the people who signed in, with their role now."""
    rows = [{**e, "in_roles_file": True} for e in roles]
    for person in seen:
        rows.append({"id": person["id"], "name": person["name"], "provider": person["provider"],
                     "role": role_for(person["keys"]), "last_seen": person["last_seen"],
                     "in_roles_file": person["id"] in {e["id"] for e in roles}})  # fmt: skip
    return rows
