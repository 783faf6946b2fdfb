"""Named cookie sessions: where their cookies come from and when they are replaced.

A session is a named Scrapy cookie jar (``meta["cookiejar"]``). Sessions come from cookie
files (one session per file: JSON or Netscape ``cookies.txt``), from a login step, or start
blank. A session that gets banned too often (or is sent to a login page) is retired: a blank or
login session is replaced by a new generation (a fresh jar, logged in again); a file session
is dropped, since its cookies would be the same.

>>> pool = SessionPool(count=2)
>>> [pool.pick().jar, pool.pick().jar, pool.pick().jar]
['s0.0', 's1.0', 's0.0']
>>> pool.retire(pool.sessions[0]).jar
's0.1'
>>> expand_env("${HOME_OF_NOBODY:-x}/${USER_FOR_DOCTEST}", {"USER_FOR_DOCTEST": "ann"})
'x/ann'
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.rules.envvars import env_refs, expand_env

_ACCOUNT_FIELD = re.compile(r"\{account\.([A-Za-z_][A-Za-z0-9_]*)\}")


def load_cookies_file(path: str | Path) -> list[dict[str, Any]]:
    """Cookies from a JSON file (a list of {name, value, domain?, path?} or a {name: value}
    mapping, as browser extensions export them) or a Netscape/Mozilla ``cookies.txt``."""
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        data = json.loads(text)
        if isinstance(data, dict):
            return [{"name": k, "value": str(v)} for k, v in data.items()]
        cookies = []
        for c in data:
            cookie = {"name": c["name"], "value": str(c["value"])}
            for key in ("domain", "path"):
                if c.get(key):
                    cookie[key] = c[key]
            cookies.append(cookie)
        return cookies
    cookies = []
    for line in text.splitlines():
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_") :]
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 7:
            raise ValueError(
                f"{path}: not a cookies.txt line (7 tab-separated fields): {line[:40]!r}"
            )
        domain, _, cpath, _, _, name, value = parts
        cookies.append({"name": name, "value": value, "domain": domain, "path": cpath or "/"})
    return cookies


@dataclass
class LoginStep:
    """A form POST that logs a session in. Form values may name env vars: ``"${SITE_PASSWORD}"``."""

    url: str
    form: dict[str, str]
    success_marker: str | None = None  # regex the response must contain
    failure_marker: str | None = None  # regex that marks a failed login

    def formdata(self, account: Any = None) -> dict[str, str]:
        """The form's values: ``${VAR}`` from the environment; with a leased account (an
        ``Account`` of crawler.accounts), ``{account.username}``, ``{account.password}`` and the
        account's extra keys (``{account.email}``) from it."""
        values = {k: expand_env(str(v)) for k, v in self.form.items()}
        if account is not None:
            values = {
                k: _ACCOUNT_FIELD.sub(lambda m: account.form_value(m[1]), v)
                for k, v in values.items()
            }
        return values

    def missing_env(self) -> list[str]:
        return [n for v in self.form.values() for n in env_refs(str(v)) if n not in os.environ]


@dataclass
class Session:
    name: str
    cookies: list[dict[str, Any]] = field(default_factory=list)
    source: str = "blank"  # blank | login | file:<path>
    generation: int = 0
    bans: int = 0
    requests: int = 0
    logged_in: bool = False
    retired: bool = False
    seeded: set[str] = field(default_factory=set)  # hosts the file cookies were given to

    @property
    def jar(self) -> str:
        return f"{self.name}.{self.generation}"

    def fresh(self) -> None:
        """A new generation: a blank jar, not logged in (its cookies are not sent again)."""
        self.generation += 1
        self.bans = 0
        self.requests = 0
        self.logged_in = False
        self.seeded = set()
        self.cookies = []


class SessionPool:
    def __init__(
        self,
        *,
        count: int = 0,
        cookies_files: list[str] | None = None,
        login: LoginStep | None = None,
        rotate: str = "round_robin",
        rng: random.Random | None = None,
    ) -> None:
        if rotate not in ("round_robin", "random"):
            raise ValueError(f"SESSION_ROTATE must be round_robin or random, not {rotate!r}")
        self.login = login
        self.rotate = rotate
        self.rng = rng or random.Random()
        self.sessions: list[Session] = []
        for path in cookies_files or []:
            self.sessions.append(
                Session(f"s{len(self.sessions)}", load_cookies_file(path), source=f"file:{path}")
            )
        while len(self.sessions) < max(count, 1 if login else 0):
            self.sessions.append(
                Session(f"s{len(self.sessions)}", source="login" if login else "blank")
            )
        self._turn = itertools.count()

    def active(self) -> list[Session]:
        return [s for s in self.sessions if not s.retired]

    def pick(self) -> Session | None:
        active = self.active()
        if not active:
            return None
        if self.rotate == "random":
            return self.rng.choice(active)
        return active[next(self._turn) % len(active)]

    def by_name(self, name: str) -> Session | None:
        return next((s for s in self.sessions if s.name == name), None)

    def retire(self, session: Session) -> Session | None:
        """Replace ``session`` by a fresh generation, or drop it (file sessions); return the new one."""
        if session.source.startswith("file:") and not self.login:
            session.retired = True
            return None
        cookies = session.cookies
        session.fresh()
        if not session.source.startswith("file:"):
            session.cookies = cookies
        # a file session's cookies got it banned: the login makes new ones
        return session
