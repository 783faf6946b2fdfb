"""What sign-in needs while the service runs, built once from the settings: the providers and
their flows (WeChat, OAuth 2.0 / OpenID Connect), the roles file, the session store and the
cookie signer, and the log filter that keeps secrets out of every log line.

``SignIn.person(request)`` says who a request's session belongs to and with which role (the roles
file as it is now); ``SignIn.complete`` turns a finished sign-in into a session; ``start_limit``
bounds the sign-ins one client address may start.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authlib.integrations.starlette_client import OAuth
from scrapy.settings import BaseSettings
from starlette.requests import Request

from crawler.core.log_redaction import RedactingFilter
from crawler.oauth import Token
from crawler.service.signin.errors import SigninError
from crawler.service.signin.oidc import OidcSignin
from crawler.service.signin.preset_signin import PresetSignin
from crawler.service.signin.roles import Identity, RolesFile
from crawler.service.signin.session_cookies import HANDLE, SessionHandle
from crawler.service.signin.signin_providers import SigninProvider, signin_providers
from crawler.service.signin.signin_sessions import CookieSigner, SessionStore, session_key
from crawler.service.signin.start_limit import StartLimit
from crawler.service.signin.wechat_signin import WeChatSignin
from vocab.redaction import Redactor

logger = logging.getLogger(__name__)
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
# Query parameters whose values are secret wherever a URL is written (a callback's code, WeChat's
# secret in the token endpoint's URL, tokens): masked in every log line whatever their value.
SECRET_PARAMS = re.compile(
    r"(?i)\b((?:secret|appsecret|corpsecret|client_secret|code|authcode|state|access_token"
    r"|refresh_token|id_token|code_verifier)=)[^&\s\"'#]+"
)
LEARNT_MAX = 2000


@dataclass(frozen=True)
class SigninConfig:
    providers: dict[str, SigninProvider]
    roles_file: Path
    sessions_file: Path
    secret_env: str
    secret_file: Path
    base_url: str
    max_age: float
    idle: float
    state_ttl: float
    recheck_interval: float
    http_timeout: float
    cookie_secure: str
    cookie_name: str
    csrf_cookie_name: str
    csrf_header: str
    start_rate: int
    start_window: float

    @classmethod
    def from_settings(cls, s: BaseSettings) -> SigninConfig:
        return cls(
            providers=signin_providers(s.getdict("SIGNIN_PROVIDERS")),
            roles_file=Path(s.get("SIGNIN_ROLES_FILE")).expanduser(),
            sessions_file=Path(s.get("SIGNIN_SESSIONS_FILE")).expanduser(),
            secret_env=s.get("SIGNIN_SECRET_ENV"),
            secret_file=Path(s.get("SIGNIN_SECRET_FILE")).expanduser(),
            base_url=str(s.get("SIGNIN_BASE_URL") or "").rstrip("/"),
            max_age=s.getfloat("SIGNIN_SESSION_MAX_AGE"),
            idle=s.getfloat("SIGNIN_SESSION_IDLE"),
            state_ttl=s.getfloat("SIGNIN_STATE_TTL"),
            recheck_interval=s.getfloat("SIGNIN_RECHECK_INTERVAL"),
            http_timeout=s.getfloat("SIGNIN_HTTP_TIMEOUT"),
            cookie_secure=s.get("SIGNIN_COOKIE_SECURE"),
            cookie_name=s.get("SIGNIN_COOKIE_NAME"),
            csrf_cookie_name=s.get("SIGNIN_CSRF_COOKIE_NAME"),
            csrf_header=s.get("SIGNIN_CSRF_HEADER"),
            start_rate=s.getint("SIGNIN_START_RATE"),
            start_window=s.getfloat("SIGNIN_START_WINDOW"),
        )

    @property
    def configured(self) -> bool:
        return bool(self.providers)

    def secure_for(self, scheme: str) -> bool:
        """Whether cookies are Secure: over HTTPS (the request's scheme, which uvicorn takes
        from a trusted proxy's X-Forwarded-Proto), or a public address that is HTTPS."""
        if self.cookie_secure != "auto":
            return self.cookie_secure == "always"
        return scheme in ("https", "wss") or self.base_url.startswith("https://")


class LogSecrets:
    """The ``text()`` of a :class:`RedactingFilter`: secret parameters by name, and every secret
    value this process knows (app secrets, the session key, tokens and codes it handled)."""

    def __init__(self, fixed: list[str]) -> None:
        self.fixed = [v for v in fixed if v]
        self.learnt: deque[str] = deque(maxlen=LEARNT_MAX)
        self.redactor = Redactor(self.fixed)

    def learn(self, *values: Any) -> None:
        new = [v for v in values if isinstance(v, str) and v and v not in self.learnt]
        if new:
            self.learnt.extend(new)
            self.redactor = Redactor([*self.fixed, *self.learnt])

    def text(self, text: str) -> str:
        return self.redactor.text(SECRET_PARAMS.sub(r"\1***", text))


class SecretLogFilter(RedactingFilter):
    """Redacts a record's arguments one by one when it has them, so formatters that read them
    (uvicorn's access log takes five) still can; else the message as a whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            text = self.redactor.text
            record.args = tuple(self._arg(a) for a in record.args)
            if isinstance(record.msg, str):
                record.msg = text(record.msg)
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = text(record.exc_text)
            return True
        return super().filter(record)

    def _arg(self, value: Any) -> Any:
        if isinstance(value, int | float):  # %d and %f still get numbers
            return value
        shown = str(value)  # a URL object, an exception: what %s would write
        clean = self.redactor.text(shown)
        return value if clean == shown else clean


class SignIn:
    def __init__(self, config: SigninConfig, *, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.clock = time.time  # tests move it
        key = session_key(config.secret_env, config.secret_file, environ)
        secrets = {name: p.secret(environ) for name, p in config.providers.items()}
        self.secrets = LogSecrets([*secrets.values(), key.hex(), key.decode("latin-1")])
        self.log_filter = SecretLogFilter(self.secrets)  # type: ignore[arg-type]
        self.roles = RolesFile(config.roles_file)
        self.sessions = SessionStore(config.sessions_file, clock=lambda: self.clock())
        self.signer = CookieSigner(key)
        self.start_limit = StartLimit(config.start_rate, config.start_window)
        self.oauth = OAuth()
        self.flows: dict[str, WeChatSignin | OidcSignin | PresetSignin] = {}
        for name, p in config.providers.items():
            if p.dialect == "preset":
                self.flows[name] = PresetSignin(
                    p, secrets[name], timeout=config.http_timeout, state_ttl=config.state_ttl,
                    learn=self.secrets.learn, clock=lambda: self.clock(),
                    wants_groups=lambda provider: self.roles.roles().names_groups(provider),
                )  # fmt: skip
            elif p.dialect == "wechat":
                self.flows[name] = WeChatSignin(
                    p, secrets[name], timeout=config.http_timeout, state_ttl=config.state_ttl,
                    learn=self.secrets.learn, clock=lambda: self.clock(),
                )  # fmt: skip
            else:
                self.flows[name] = OidcSignin(
                    p, secrets[name], self.oauth, timeout=config.http_timeout,
                    learn=self.secrets.learn,
                )  # fmt: skip
        self._handlers: list[logging.Handler] = []

    # -- the log ------------------------------------------------------------------------------

    def guard_logs(self) -> None:
        """Put the filter on every handler that may write a line (uvicorn's are set up after
        the app is built: called at start-up)."""
        for name in LOGGERS:
            for handler in logging.getLogger(name).handlers:
                if handler not in self._handlers:
                    handler.addFilter(self.log_filter)
                    self._handlers.append(handler)

    def close(self) -> None:
        for handler in self._handlers:
            handler.removeFilter(self.log_filter)
        self._handlers = []
        self.sessions.close()

    # -- sessions -----------------------------------------------------------------------------

    def frame_origins(self) -> list[str]:
        """Where the sign-in page may load frames from: WeChat's, for an embedded QR code."""
        found = [p.open_base for p in self.config.providers.values() if p.embedded]
        return sorted({re.sub(r"^(https?://[^/]+).*$", r"\1", url) for url in found})

    def redirect_uri(self, request: Request, provider: str) -> str:
        base = self.config.base_url or str(request.base_url).rstrip("/")
        return f"{base}/api/auth/{provider}/callback"

    def complete(self, request: Request, who: Identity, token: Token | None = None) -> str:
        """Sign the browser in as ``who`` (a new session id); their role. A person without a
        role is refused (and recorded, so that an admin can find their id)."""
        self.sessions.seen(who)
        role = self.roles.roles().role_for(who.keys)
        if role is None:
            logger.info("sign-in of %s (%s) refused: no role", who.key, who.provider)
            raise SigninError.of("no_role", provider=who.provider, name=who.name, id=who.key)
        extra: dict[str, Any] = {}
        if token is not None and self.config.recheck_interval:
            extra = {"provider_token": token.to_json(),
                     "recheck_at": self.clock() + self.config.recheck_interval}  # fmt: skip
        handle: SessionHandle = request.scope[HANDLE]
        handle.sign_in(who.to_dict(), extra)
        logger.info("%s (%s) signed in with %s as %s", who.name, who.key, who.provider, role)
        return role

    def person(self, request: Request) -> dict[str, Any] | None:
        """The signed-in person of the request's session, with their role now (None: no role),
        or None when the session is not signed in."""
        handle: SessionHandle | None = request.scope.get(HANDLE)
        if handle is None or not handle.signed_in:
            return None
        who = Identity.from_dict(handle.data["person"])
        if not self._still_valid(request, handle, who):
            return None
        role = self.roles.roles().role_for(who.keys)
        return {"via": "session", "id": who.key, "name": who.name, "provider": who.provider,
                "role": role, "expires_at": handle.expires}  # fmt: skip

    def _still_valid(self, request: Request, handle: SessionHandle, who: Identity) -> bool:
        flow = self.flows.get(who.provider)
        if flow is None:  # the provider was taken out of SIGNIN_PROVIDERS
            handle.sign_out()
            return False
        data, now = handle.data, self.clock()
        if not isinstance(flow, WeChatSignin) or "provider_token" not in data:
            return True
        if data.get("recheck_at", 0) > now:
            return True
        try:
            token = flow.recheck(Token.from_json(data["provider_token"]))
        except SigninError as exc:
            if exc.reason == "unreachable":  # WeChat away: keep the session, look again soon
                data["recheck_at"] = now + min(self.config.recheck_interval, 300.0)
                logger.warning("WeChat could not be reached to check %s's session", who.key)
                return True
            logger.info("session of %s ended: %s", who.key, exc.reason)
            request.state.signin_ended = exc.description
            handle.sign_out()
            return False
        data["provider_token"] = token.to_json()
        data["recheck_at"] = now + self.config.recheck_interval
        return True
