"""A token as stored: the access token, its expiry, the refresh token that renews it, and for
WeChat the ``openid``/``unionid`` it belongs to. Its ``repr`` and :meth:`Token.label` never show
a secret: a token may end up in an exception or a debug line.

>>> t = Token.from_answer({"access_token": "at-123456", "expires_in": 7200, "refresh_token": "rt-abcdef"}, now=1000.0)
>>> t.expires_at, t.expires_within(60, now=8000.0), t.expires_within(60, now=8200.0)
(8200.0, False, True)
>>> "at-123456" in repr(t), t.label == Token.label_of("at-123456")
(False, True)
>>> Token.from_json(t.to_json()) == t
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    expires_at: float | None = None  # epoch seconds; None: the provider did not say
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"
    scope: str = ""
    openid: str | None = None  # WeChat: the person's id in this app
    unionid: str | None = None  # WeChat: the person's id across the company's apps
    obtained_at: float = 0.0

    @classmethod
    def from_answer(
        cls, answer: Mapping[str, Any], *, now: float, refresh_token: str | None = None
    ) -> Token:
        """A token endpoint's answer (``expires_in`` seconds from ``now``); ``refresh_token``
        is kept when the answer carries no new one."""
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("the answer carries no access_token")
        expires_at = answer.get("expires_at")
        if expires_at is None and answer.get("expires_in") not in (None, ""):
            expires_at = now + float(answer["expires_in"])
        scope = answer.get("scope") or ""
        return cls(
            access_token=access,
            expires_at=None if expires_at is None else float(expires_at),
            refresh_token=answer.get("refresh_token") or refresh_token,
            token_type=str(answer.get("token_type") or "Bearer"),
            scope=" ".join(scope) if isinstance(scope, list) else str(scope),
            openid=answer.get("openid"),
            unionid=answer.get("unionid"),
            obtained_at=now,
        )

    def expires_within(self, seconds: float, *, now: float) -> bool:
        return self.expires_at is not None and self.expires_at - seconds <= now

    @property
    def label(self) -> str:
        """What logs, stats and ``scrapy auth source-tokens`` show instead of the token."""
        return self.label_of(self.access_token)

    @staticmethod
    def label_of(secret: str) -> str:
        return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:10]

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.access_token, self.refresh_token) if s]

    def with_refresh_token(self, refresh_token: str | None) -> Token:
        return replace(self, refresh_token=refresh_token)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Token:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
