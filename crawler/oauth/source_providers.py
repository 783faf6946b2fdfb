"""A provider as configured in ``OAUTH_PROVIDERS`` (project settings, never a rule), checked.

::

    OAUTH_PROVIDERS = {
        "gitlab": {                               # the standard dialect (RFC 6749)
            "issuer": "https://gitlab.example",    # or token_url (+ authorize_url)
            "client_id": "crawler",
            "client_secret_env": "GITLAB_CLIENT_SECRET",
            "grant": "refresh_token",              # or client_credentials
            "scope": "read_api",
        },
        "wx": {                                   # WeChat web authorization
            "dialect": "wechat",
            "client_id": "wx1234567890abcdef",     # the app id
            "client_secret_env": "WECHAT_APP_SECRET",
            "openid_param": "openid",
        },
    }

The secret comes from the environment variable named by ``client_secret_env``: a provider with a
``client_secret`` key is refused. A token goes only to ``hosts`` (default: the host of the token
endpoint, the issuer or WeChat's API), whatever URLs a rule crawls.

>>> p = provider_from_settings("wx", {"dialect": "wechat", "client_id": "wx1", "client_secret_env": "S"})
>>> p.grant, p.token_in, p.expired_errcodes, p.hosts
('refresh_token', 'query', (42001,), ('api.weixin.qq.com',))
>>> provider_from_settings("g", {"token_url": "https://h/t", "client_id": "c", "client_secret": "x"})
Traceback (most recent call last):
...
crawler.oauth.errors.ProviderError: OAUTH_PROVIDERS['g']: never put a secret in settings: name its environment variable in client_secret_env
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.oauth.errors import ProviderError

if TYPE_CHECKING:
    from crawler.oauth.source_tokens import Token

DIALECTS = ("standard", "wechat")
GRANTS = ("client_credentials", "refresh_token")
WECHAT_API = "https://api.weixin.qq.com"
WECHAT_OPEN = "https://open.weixin.qq.com"
WECHAT_PAGES = {"qrconnect": "snsapi_login", "oauth2": "snsapi_userinfo"}
KEYS = {
    "dialect", "grant", "client_id", "client_secret_env", "scope", "token_in", "token_param",
    "openid_param", "expired_statuses", "expired_errcodes", "hosts", "issuer", "token_url",
    "authorize_url", "token_auth_method", "api_base", "open_base", "authorize_page",
}  # fmt: skip
_SECRET_KEYS = {"client_secret", "secret", "app_secret", "appsecret"}


@dataclass(frozen=True)
class Provider:
    name: str
    client_id: str
    dialect: str = "standard"
    grant: str = "client_credentials"
    secret_env: str | None = None
    scope: str = ""
    token_in: str = "header"  # header (Authorization: Bearer) | query
    token_param: str = "access_token"
    openid_param: str | None = None  # WeChat: the stored openid goes along as this parameter
    expired_statuses: tuple[int, ...] = (401,)
    expired_errcodes: tuple[int, ...] = ()
    hosts: tuple[str, ...] = ()
    issuer: str | None = None
    token_url: str | None = None
    authorize_url: str | None = None
    token_auth_method: str = "client_secret_basic"
    api_base: str = WECHAT_API
    open_base: str = WECHAT_OPEN
    authorize_page: str = "qrconnect"

    @property
    def wechat(self) -> bool:
        return self.dialect == "wechat"

    def secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The client secret, from the environment; ``None`` for a public client."""
        return secret_from_env(self.secret_env, f"provider {self.name!r}", "client secret", environ)

    def allows(self, host: str | None) -> bool:
        host = (host or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.hosts)


def secret_from_env(
    env: str | None, who: str, what: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """The secret in environment variable ``env``; ``None`` when none is named (a public
    client); a :class:`ProviderError` naming ``who`` when it is named but not set."""
    if env is None:
        return None
    value = (os.environ if environ is None else environ).get(env, "")
    if not value:
        raise ProviderError(
            f"{who} needs its {what} in environment variable {env}, which is not set"
        )
    return value


def _hosts(values: Any) -> tuple[str, ...]:
    return tuple(str(v).lower() for v in values)


def _host_of(url: str | None) -> str | None:
    return (urlsplit(url).hostname or None) if url else None


def provider_from_settings(name: str, spec: Any) -> Provider:
    where = f"OAUTH_PROVIDERS[{name!r}]"

    def fail(message: str) -> ProviderError:
        return ProviderError(f"{where}: {message}")

    if not isinstance(spec, Mapping):
        raise fail("must be a dict of the provider's settings")
    if _SECRET_KEYS & set(spec):
        raise fail(
            "never put a secret in settings: name its environment variable in client_secret_env"
        )
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    dialect = spec.get("dialect", "standard")
    if dialect not in DIALECTS:
        raise fail(f"dialect must be one of {', '.join(DIALECTS)}; got {dialect!r}")
    wechat = dialect == "wechat"
    grant = spec.get("grant", "refresh_token" if wechat else "client_credentials")
    if grant not in GRANTS:
        raise fail(f"grant must be one of {', '.join(GRANTS)}; got {grant!r}")
    if wechat and grant != "refresh_token":
        raise fail("the wechat dialect has one grant: refresh_token (web authorization)")
    if not spec.get("client_id"):
        raise fail("client_id is required (WeChat: the app id)")
    secret_env = spec.get("client_secret_env") or None
    if secret_env is None and (wechat or grant == "client_credentials"):
        raise fail("client_secret_env is required: the environment variable holding the secret")
    token_in = spec.get("token_in", "query" if wechat else "header")
    if token_in not in ("header", "query"):
        raise fail(f"token_in must be header or query; got {token_in!r}")
    page = spec.get("authorize_page", "qrconnect")
    if page not in WECHAT_PAGES:
        raise fail(f"authorize_page must be one of {', '.join(WECHAT_PAGES)}; got {page!r}")
    method = spec.get("token_auth_method", "client_secret_basic")
    if method not in ("client_secret_basic", "client_secret_post"):
        raise fail("token_auth_method must be client_secret_basic or client_secret_post")
    issuer, token_url = spec.get("issuer"), spec.get("token_url")
    if not wechat and not (issuer or token_url):
        raise fail("give issuer (OpenID Connect discovery) or token_url")
    api_base = str(spec.get("api_base", WECHAT_API)).rstrip("/")
    default_host = _host_of(api_base) if wechat else _host_of(token_url) or _host_of(issuer)
    hosts = _hosts(spec.get("hosts") or [default_host])
    try:
        return Provider(
            name=name,
            client_id=str(spec["client_id"]),
            dialect=dialect,
            grant=grant,
            secret_env=secret_env,
            scope=str(spec.get("scope", WECHAT_PAGES[page] if wechat else "")),
            token_in=token_in,
            token_param=str(spec.get("token_param", "access_token")),
            openid_param=spec.get("openid_param"),
            expired_statuses=tuple(map(int, spec.get("expired_statuses", [] if wechat else [401]))),
            expired_errcodes=tuple(
                map(int, spec.get("expired_errcodes", [42001] if wechat else []))
            ),
            hosts=hosts,
            issuer=issuer.rstrip("/") if issuer else None,
            token_url=token_url,
            authorize_url=spec.get("authorize_url"),
            token_auth_method=method,
            api_base=api_base,
            open_base=str(spec.get("open_base", WECHAT_OPEN)).rstrip("/"),
            authorize_page=page,
        )
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None


def providers_from_settings(specs: Any) -> dict[str, Provider]:
    """Every provider of ``OAUTH_PROVIDERS``."""
    return {name: provider_from_settings(name, spec) for name, spec in dict(specs or {}).items()}


class TokenClient:
    """What a dialect's client does for a provider's credential: obtain tokens (client
    credentials, an authorization code, a refresh token) and the URL a person authorizes at.
    :class:`~crawler.oauth.standard.StandardClient` and
    :class:`~crawler.oauth.wechat_client.WeChatClient` are the two;
    ``crawler.oauth.keeper.token_client`` picks by the provider's dialect."""

    def __init__(
        self,
        provider: Provider,
        secret: str | None,
        *,
        credential: str = "default",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.secret = secret
        self.credential = credential
        self.timeout = timeout
        self.clock = clock

    def authorization_url(self, redirect_uri: str, *, state: str, **kwargs: Any) -> str:
        raise NotImplementedError

    def exchange_code(self, code: str, **kwargs: Any) -> Token:
        raise NotImplementedError

    def refresh(self, refresh_token: str) -> Token:
        raise NotImplementedError

    def client_credentials(self) -> Token:
        raise NotImplementedError
