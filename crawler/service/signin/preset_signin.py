"""Signing in with a preset provider (WeCom, DingTalk, Feishu / Lark, GitHub, Weibo: see
:mod:`~crawler.service.signin.presets`), the way the WeChat flow does it:

- :meth:`PresetSignin.start`: a ``state`` of 32 hex digits kept in the browser's session (with
  the callback URL and, for providers that take PKCE, the S256 verifier), then the provider's
  authorization URL (:mod:`~crawler.service.signin.preset_apis`);
- :meth:`PresetSignin.finish`: the callback's ``state`` must be the session's (once: it is
  removed, and within ``SIGNIN_STATE_TTL``) or the sign-in is refused as CSRF before any code is
  exchanged; the provider's own error in the callback (the person said no) or no code is
  refused; then the code is exchanged and the person read.

The person is ``sub:<provider>:<id>`` (WeCom's userid, DingTalk's unionId, Feishu's union_id,
GitHub's numeric id, Weibo's uid; other ids the provider gives are kept too), and each
department, organisation or tenant ``group:<provider>:<id>``. Every provider error is a
:class:`~crawler.service.signin.errors.SigninError` naming the provider's code, never its
message; secrets and tokens are learnt by the log filter before anything can log them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from crawler.service.signin.errors import SigninError
from crawler.service.signin.flow_state import issue_state, take_state
from crawler.service.signin.preset_apis import MAX_GROUPS, Ask, Failure, Http, Who, apis
from crawler.service.signin.roles import Identity
from crawler.service.signin.signin_providers import SigninProvider

REASONS = {"code": "code_rejected", "client": "client_rejected", "denied": "access_denied",
           "not_allowed": "not_allowed", "unreachable": "unreachable",
           "other": "provider_refused"}  # fmt: skip
CLEAN = re.compile(r"^\S{1,255}$")


def challenge_of(verifier: str) -> str:
    """RFC 7636 S256.

    >>> challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class PresetSignin:
    def __init__(
        self,
        provider: SigninProvider,
        secret: str | None,
        *,
        timeout: float,
        state_ttl: float,
        learn: Callable[..., None],
        wants_groups: Callable[[str], bool] = lambda name: False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.secret = secret or ""
        self.api = apis()[str(provider.preset)]
        self.http = Http(timeout, learn)
        self.state_ttl = state_ttl
        self.learn = learn
        self.wants_groups = wants_groups
        self.clock = clock
        self.key = f"_preset_state_{provider.name}"

    def start(self, session: dict[str, Any], redirect_uri: str) -> str:
        verifier = secrets.token_urlsafe(48) if self.api.pkce else ""
        self.learn(verifier)
        groups = self.wants_groups(self.provider.name)
        state = issue_state(session, self.key, self.state_ttl, self.clock,
                            redirect_uri=redirect_uri, verifier=verifier, groups=groups)  # fmt: skip
        challenge = challenge_of(verifier) if verifier else ""
        return self.api.authorize_url(self.provider, redirect_uri, state, challenge, groups)

    def finish(self, session: dict[str, Any], params: Mapping[str, str]) -> tuple[Identity, None]:
        """Who signed in (no token is kept: the provider is not asked again)."""
        p = self.provider
        expected = take_state(session, self.key, params.get("state", ""), self.clock)
        if expected is None:
            raise SigninError.of("state", provider=p.label)
        refused = self.api.refused(params)
        if refused is not None:
            raise self._error(refused)
        code = self.api.code_of(params)
        if not code:
            raise SigninError.of("access_denied", provider=p.label)
        self.learn(code)
        ask = Ask(p, self.secret, code, str(expected.get("redirect_uri", "")),
                  str(expected.get("verifier", "")), bool(expected.get("groups")))  # fmt: skip
        try:
            who = self.api.identify(self.http, ask)
        except Failure as failure:
            raise self._error(failure) from None
        return self.identity(who), None

    def identity(self, who: Who) -> Identity:
        p = self.provider
        subjects = [s for s in who.subjects if CLEAN.match(s)]
        if not subjects:
            raise SigninError.of("no_identity", provider=p.label, detail="user id")
        keys = [f"sub:{p.name}:{s}" for s in dict.fromkeys(subjects)]
        groups = [g for g in who.groups[:MAX_GROUPS] if CLEAN.match(g)]
        keys += [f"group:{p.name}:{g}" for g in dict.fromkeys(groups)]
        name = who.name.strip()[:60] or f"{p.label} {subjects[0][:8]}"
        return Identity(p.name, "preset", keys[0], tuple(keys), name)

    def _error(self, failure: Failure) -> SigninError:
        p = self.provider
        return SigninError.of(
            REASONS[failure.kind], provider=p.label, errcode=failure.code, detail=failure.code,
            env=p.secret_env or "",
        )  # fmt: skip
