"""WeChat's web authorization, as its public documentation describes it: the ``qrconnect``
(website QR-code login) and ``oauth2/authorize`` (inside the WeChat browser) pages, the code
exchange at ``sns/oauth2/access_token``, ``sns/oauth2/refresh_token``, ``sns/auth`` and
``sns/userinfo``. Errors come as HTTP 200 ``{"errcode": N, "errmsg": ...}``; each known code
becomes a failure a person can act on. The app secret travels in the query string (WeChat's
choice), so no URL and no exception text of the HTTP client is ever put in a message.

>>> ERRCODES[40163]
'the code was already used (codes are single-use)'
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests

from crawler.oauth.errors import (
    CodeRejected,
    InvalidClient,
    InvalidGrant,
    OAuthFailure,
    TokenEndpointError,
)
from crawler.oauth.source_providers import TokenClient
from crawler.oauth.source_tokens import Token

ERRCODES = {
    40029: "invalid code (expired after 5 minutes, or never issued to this app)",
    40163: "the code was already used (codes are single-use)",
    40030: "invalid refresh_token (expired after 30 days, or revoked)",
    40003: "invalid openid",
    42001: "access_token expired",
    40001: "invalid credential: the app secret is wrong",
}
FAILURES: dict[int, type[OAuthFailure]] = {
    40029: CodeRejected,
    40163: CodeRejected,
    40030: InvalidGrant,
    40001: InvalidClient,
}
USERINFO_LANGS = ("zh_CN", "zh_TW", "en")


def errcode_detail(code: int, errmsg: Any = "") -> str:
    return f"errcode {code}: {ERRCODES.get(code, str(errmsg)[:200] or 'unknown error')}"


class WeChatClient(TokenClient):
    def authorization_url(self, redirect_uri: str, *, state: str, **_: Any) -> str:
        """The page a person opens: parameters in the documented order, then the fragment."""
        p = self.provider
        query = urlencode(
            [
                ("appid", p.client_id),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", p.scope),
                ("state", state),
            ]
        )
        path = "qrconnect" if p.authorize_page == "qrconnect" else "oauth2/authorize"
        return f"{p.open_base}/connect/{path}?{query}#wechat_redirect"

    def exchange_code(self, code: str, **_: Any) -> Token:
        answer = self._get(
            "/sns/oauth2/access_token",
            {"appid": self.provider.client_id, "secret": self.secret or "", "code": code,
             "grant_type": "authorization_code"},
        )  # fmt: skip
        return self._token(answer)

    def refresh(self, refresh_token: str) -> Token:
        answer = self._get(
            "/sns/oauth2/refresh_token",
            {"appid": self.provider.client_id, "grant_type": "refresh_token",
             "refresh_token": refresh_token},
        )  # fmt: skip
        return self._token(answer, refresh_token)

    def client_credentials(self) -> Token:
        raise self._failure(
            TokenEndpointError, "the wechat dialect has no client-credentials grant"
        )

    def check(self, token: Token) -> bool:
        """``sns/auth``: whether the provider still accepts the access token."""
        answer = self._get(
            "/sns/auth", {"access_token": token.access_token, "openid": token.openid or ""},
            raise_errors=False,
        )  # fmt: skip
        return answer.get("errcode") == 0

    def userinfo(self, token: Token, lang: str = "zh_CN") -> dict[str, Any]:
        if lang not in USERINFO_LANGS:
            raise ValueError(f"lang must be one of {', '.join(USERINFO_LANGS)}")
        return self._get(
            "/sns/userinfo",
            {"access_token": token.access_token, "openid": token.openid or "", "lang": lang},
        )

    # -- plumbing --------------------------------------------------------------------------

    def _token(self, answer: dict[str, Any], refresh_token: str | None = None) -> Token:
        try:
            return Token.from_answer(answer, now=self.clock(), refresh_token=refresh_token)
        except ValueError as exc:
            raise self._failure(TokenEndpointError, str(exc)) from None

    def _get(self, path: str, params: dict[str, str], raise_errors: bool = True) -> dict[str, Any]:
        url = self.provider.api_base + path
        try:
            answer = requests.get(url, params=params, timeout=self.timeout)
            answer.raise_for_status()
            data = answer.json()
        except requests.RequestException as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            what = f"HTTP {status}" if status else type(exc).__name__
            raise self._failure(TokenEndpointError, f"{path}: {what}") from None
        except ValueError:
            raise self._failure(TokenEndpointError, f"{path}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise self._failure(TokenEndpointError, f"{path}: the answer is not a JSON object")
        code = data.get("errcode")
        if raise_errors and isinstance(code, int) and code != 0:
            cls = FAILURES.get(code, TokenEndpointError)
            failure = self._failure(cls, errcode_detail(code, data.get("errmsg")))
            failure.errcode = code  # the sign-in page words each code for a person
            raise failure
        return data

    def _failure(self, cls: type[OAuthFailure], detail: str) -> OAuthFailure:
        return cls(self.provider.name, self.credential, detail)
