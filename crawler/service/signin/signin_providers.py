"""The sign-in providers of the data service, as configured in ``SIGNIN_PROVIDERS`` (project
settings, never a rule), checked.

::

    SIGNIN_PROVIDERS = {
        "wechat": {                                # website QR-code login (Open Platform)
            "dialect": "wechat",
            "client_id": "wx0123456789abcdef",      # the AppID
            "client_secret_env": "WECHAT_WEB_SECRET",
        },
        "wechat-mp": {                             # inside the WeChat browser (Official Account)
            "dialect": "wechat",
            "authorize_page": "oauth2",
            "scope": "snsapi_userinfo",             # or snsapi_base (silent, openid only)
            "client_id": "wx00112233445566ff",
            "client_secret_env": "WECHAT_MP_SECRET",
        },
        "gitlab": {                                # OpenID Connect, by discovery
            "issuer": "https://gitlab.example.com",
            "client_id": "crawler-dashboard",
            "client_secret_env": "GITLAB_SIGNIN_SECRET",
        },
        "github": {                                # OAuth 2.0 without OIDC: who from its API
            "authorize_url": "https://github.com/login/oauth/authorize",
            "token_url": "https://github.com/login/oauth/access_token",
            "userinfo_url": "https://api.github.com/user",
            "scope": "read:user user:email",
            "claims": {"subject": "id", "name": "login"},
            "client_id": "Iv1.0123456789",
            "client_secret_env": "GITHUB_SIGNIN_SECRET",
        },
        "wecom": {                                 # a preset (presets.py; docs/signin/)
            "preset": "wecom",
            "client_id": "ww0123456789abcdef",      # the CorpID
            "agent_id": "1000002",
            "client_secret_env": "WECOM_SIGNIN_SECRET",
        },
    }

>>> p = signin_provider("wx", {"dialect": "wechat", "client_id": "wx1", "client_secret_env": "S"})
>>> p.kind, p.scope, p.wechat_provider().authorize_page
('wechat_qr', 'snsapi_login', 'qrconnect')
>>> signin_provider("g", {"issuer": "https://id.test", "client_id": "c"}).scope
'openid profile email'
>>> signin_provider("g", {"authorize_url": "https://id.test/a", "token_url": "https://id.test/t",
...                       "client_id": "c"})
Traceback (most recent call last):
...
crawler.oauth.errors.ProviderError: SIGNIN_PROVIDERS['g']: the openid scope needs issuer or jwks_uri: the keys ID tokens are checked with
>>> signin_provider("g", {"issuer": "https://id.test", "client_id": "c", "client_secret": "x"})
Traceback (most recent call last):
...
crawler.oauth.errors.ProviderError: SIGNIN_PROVIDERS['g']: never put a secret in settings: name its environment variable in client_secret_env
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler.oauth import WECHAT_API, WECHAT_OPEN, Provider, ProviderError, secret_from_env
from crawler.service.signin.presets import preset_fields, preset_url

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
WECHAT_SCOPES = {"qrconnect": ("snsapi_login",), "oauth2": ("snsapi_userinfo", "snsapi_base")}
LANGS = ("zh_CN", "zh_TW", "en")
CLAIMS = {"subject": "sub", "email": "email", "name": "name", "groups": "groups"}
COMMON = {"dialect", "label", "client_id", "client_secret_env", "scope"}
WECHAT_KEYS = COMMON | {"authorize_page", "api_base", "open_base", "lang", "embedded", "qr_style",
                        "qr_stylesheet"}  # fmt: skip
STANDARD_KEYS = COMMON | {
    "issuer", "authorize_url", "token_url", "userinfo_url", "jwks_uri", "token_auth_method",
    "claims", "trust_email",
}  # fmt: skip
_SECRET_KEYS = {"client_secret", "secret", "app_secret", "appsecret"}


@dataclass(frozen=True)
class SigninProvider:
    name: str
    dialect: str  # wechat | standard | preset
    client_id: str
    label: str
    scope: str
    secret_env: str | None = None
    # wechat
    authorize_page: str = "qrconnect"
    api_base: str = WECHAT_API
    open_base: str = WECHAT_OPEN
    lang: str = "zh_CN"
    # standard
    issuer: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    jwks_uri: str | None = None
    token_auth_method: str = "client_secret_basic"
    claims: dict[str, str] = field(default_factory=lambda: dict(CLAIMS))
    trust_email: bool = False
    # preset (crawler/service/signin/presets.py)
    preset: str | None = None
    bases: tuple[tuple[str, str], ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    # wechat: the QR code shown in the sign-in page itself (WeChat's WxLogin parameters)
    embedded: bool = False
    qr_style: str = "black"
    qr_stylesheet: str = ""

    def base(self, key: str) -> str:
        return dict(self.bases)[key]

    def option(self, key: str, default: str = "") -> str:
        return dict(self.options).get(key, default)

    @property
    def kind(self) -> str:
        """What the sign-in page shows: ``wechat_qr``, ``wechat_browser`` or ``oauth``."""
        if self.dialect == "wechat":
            return "wechat_qr" if self.authorize_page == "qrconnect" else "wechat_browser"
        return "oauth"

    def secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The client secret from the environment; None for a public client (PKCE alone)."""
        return secret_from_env(
            self.secret_env, f"sign-in provider {self.name!r}", "secret", environ
        )

    def wechat_provider(self) -> Provider:
        """The same app as :mod:`crawler.oauth`'s WeChat client knows it."""
        return Provider(
            name=self.name,
            client_id=self.client_id,
            dialect="wechat",
            grant="refresh_token",
            secret_env=self.secret_env,
            scope=self.scope,
            token_in="query",
            hosts=(),
            api_base=self.api_base,
            open_base=self.open_base,
            authorize_page=self.authorize_page,
        )

    def public(self) -> dict[str, Any]:
        """What the sign-in page learns: no endpoint, no secret (an embedded QR code's frame
        needs the AppID, which WeChat shows in every authorization URL anyway)."""
        shown: dict[str, Any] = {"name": self.name, "label": self.label, "kind": self.kind}
        if self.embedded:
            shown["embed"] = {"origin": self.open_base}
        return shown


def _url(value: Any, fail: Any, key: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", text):
        raise fail(f"{key} must be an http(s) URL; got {value!r}")
    return text


def signin_provider(name: str, spec: Any) -> SigninProvider:
    where = f"SIGNIN_PROVIDERS[{name!r}]"

    def fail(message: str) -> ProviderError:
        return ProviderError(f"{where}: {message}")

    if not NAME.match(name):
        raise fail("a name is 1 to 40 of a-z, 0-9, _ and -, starting with a letter or digit")
    if not isinstance(spec, Mapping):
        raise fail("must be a dict of the provider's settings")
    if _SECRET_KEYS & set(spec):
        raise fail(
            "never put a secret in settings: name its environment variable in client_secret_env"
        )
    if "preset" in spec:
        return SigninProvider(**preset_fields(name, spec))
    dialect = spec.get("dialect", "standard")
    if dialect not in ("wechat", "standard"):
        raise fail(f"dialect must be wechat or standard; got {dialect!r}")
    known = WECHAT_KEYS if dialect == "wechat" else STANDARD_KEYS
    unknown = sorted(set(spec) - known)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if not spec.get("client_id"):
        raise fail("client_id is required (WeChat: the AppID)")
    secret_env = spec.get("client_secret_env") or None
    label = str(spec.get("label") or name)[:60]
    if dialect == "wechat":
        return _wechat(name, spec, fail, label, secret_env)
    return _standard(name, spec, fail, label, secret_env)


def _wechat(name: str, spec: Any, fail: Any, label: str, secret_env: str | None):
    if secret_env is None:
        raise fail("client_secret_env is required: the variable holding the AppSecret")
    page = spec.get("authorize_page", "qrconnect")
    if page not in WECHAT_SCOPES:
        raise fail(f"authorize_page must be qrconnect or oauth2; got {page!r}")
    scope = spec.get("scope", WECHAT_SCOPES[page][0])
    if scope not in WECHAT_SCOPES[page]:
        raise fail(f"scope of {page} must be one of {', '.join(WECHAT_SCOPES[page])}")
    lang = spec.get("lang", "zh_CN")
    if lang not in LANGS:
        raise fail(f"lang must be one of {', '.join(LANGS)}")
    embedded = bool(spec.get("embedded", False))
    if embedded and page != "qrconnect":
        raise fail("embedded is for the website QR-code login (authorize_page qrconnect)")
    style = spec.get("qr_style", "black")
    if style not in ("black", "white"):
        raise fail("qr_style must be black or white")
    sheet = spec.get("qr_stylesheet") or ""
    return SigninProvider(
        name=name, dialect="wechat", client_id=str(spec["client_id"]), label=label,
        scope=scope, secret_env=secret_env, authorize_page=page, lang=lang,
        embedded=embedded, qr_style=style,
        qr_stylesheet=preset_url(sheet, "qr_stylesheet", fail) if sheet else "",
        api_base=_url(spec.get("api_base", WECHAT_API), fail, "api_base") or WECHAT_API,
        open_base=_url(spec.get("open_base", WECHAT_OPEN), fail, "open_base") or WECHAT_OPEN,
    )  # fmt: skip


def _standard(name: str, spec: Any, fail: Any, label: str, secret_env: str | None):
    issuer = _url(spec.get("issuer"), fail, "issuer")
    authorize_url = _url(spec.get("authorize_url"), fail, "authorize_url")
    token_url = _url(spec.get("token_url"), fail, "token_url")
    if not issuer and not (authorize_url and token_url):
        raise fail("give issuer (OpenID Connect discovery) or authorize_url and token_url")
    scope = str(spec.get("scope", "openid profile email"))
    userinfo_url = _url(spec.get("userinfo_url"), fail, "userinfo_url")
    if "openid" not in scope.split() and not userinfo_url:
        raise fail("without the openid scope, userinfo_url must say where to learn who signed in")
    jwks_uri = _url(spec.get("jwks_uri"), fail, "jwks_uri")
    if "openid" in scope.split() and not issuer and not jwks_uri:
        raise fail("the openid scope needs issuer or jwks_uri: the keys ID tokens are checked with")
    method = spec.get("token_auth_method", "client_secret_basic")
    if method not in ("client_secret_basic", "client_secret_post"):
        raise fail("token_auth_method must be client_secret_basic or client_secret_post")
    claims = spec.get("claims", {})
    if not isinstance(claims, Mapping) or set(claims) - set(CLAIMS):
        raise fail(f"claims maps some of {', '.join(CLAIMS)} to the names the provider uses")
    return SigninProvider(
        name=name, dialect="standard", client_id=str(spec["client_id"]), label=label,
        scope=scope, secret_env=secret_env, issuer=issuer, authorize_url=authorize_url,
        token_url=token_url, userinfo_url=userinfo_url,
        jwks_uri=jwks_uri, token_auth_method=method,
        claims={**CLAIMS, **{k: str(v) for k, v in claims.items()}},
        trust_email=bool(spec.get("trust_email", False)),
    )  # fmt: skip


def signin_providers(specs: Any) -> dict[str, SigninProvider]:
    """Every provider of ``SIGNIN_PROVIDERS`` (in their order: the sign-in page's)."""
    if not isinstance(specs, Mapping):
        raise ProviderError("SIGNIN_PROVIDERS must be a dict of providers by name")
    return {str(name): signin_provider(str(name), spec) for name, spec in specs.items()}
