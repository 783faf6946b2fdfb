"""Why a token could not be had, each with a ``reason`` (the ``oauth/stopped`` stat and the
spider's close reason ``oauth_<reason>``) and a message that says what to do. Messages never
hold a secret: they name the provider, the credential and environment variables only.

>>> str(InvalidGrant("gitlab", "ci-bot", "invalid_grant"))
"provider 'gitlab' refused the stored refresh token of credential 'ci-bot' (invalid_grant): run `scrapy auth authorize gitlab --credential ci-bot` again"
"""

from __future__ import annotations


def authorize_hint(provider: str, credential: str) -> str:
    option = "" if credential == "default" else f" --credential {credential}"
    return f"run `scrapy auth authorize {provider}{option}`"


class OAuthFailure(Exception):
    """A token could not be had. ``stops`` failures end the crawl (exit 5, ``blocked``)."""

    reason = "failed"
    stops = True
    errcode: int | None = None  # WeChat's errcode, when WeChat gave one

    def __init__(self, provider: str, credential: str, detail: str = "") -> None:
        self.provider = provider
        self.credential = credential
        self.detail = detail
        super().__init__(self.message())

    def message(self) -> str:
        return f"provider {self.provider!r}: {self.detail}"


class InvalidGrant(OAuthFailure):
    """The stored refresh token is refused (RFC ``invalid_grant``, WeChat 40030): only a person
    can fix it, by authorizing again."""

    reason = "invalid_grant"

    def message(self) -> str:
        return (
            f"provider {self.provider!r} refused the stored refresh token of credential "
            f"{self.credential!r} ({self.detail}): "
            f"{authorize_hint(self.provider, self.credential)} again"
        )


class NotAuthorized(OAuthFailure):
    """No refresh token is stored for the credential yet."""

    reason = "not_authorized"

    def message(self) -> str:
        return (
            f"no stored credential {self.credential!r} for provider {self.provider!r}: "
            f"{authorize_hint(self.provider, self.credential)} once"
        )


class InvalidClient(OAuthFailure):
    """The provider refuses the client itself (RFC ``invalid_client``, WeChat 40001)."""

    reason = "invalid_client"

    def message(self) -> str:
        return (
            f"provider {self.provider!r} refused the client id or secret ({self.detail}): "
            "check client_id in OAUTH_PROVIDERS and the secret in its environment variable"
        )


class CodeRejected(OAuthFailure):
    """An authorization code was refused (WeChat 40029 invalid, 40163 already used; RFC
    ``invalid_grant`` at the code exchange). ``scrapy auth authorize`` reports it."""

    reason = "invalid_code"

    def message(self) -> str:
        return (
            f"provider {self.provider!r} refused the authorization code ({self.detail}): codes "
            f"are single-use and expire within minutes; "
            f"{authorize_hint(self.provider, self.credential)} again"
        )


class TokenEndpointError(OAuthFailure):
    """Anything else: the endpoint unreachable, an error status, an answer of another shape."""

    reason = "token_endpoint"

    def message(self) -> str:
        return f"provider {self.provider!r}: the token endpoint failed: {self.detail}"


class ProviderError(ValueError):
    """A provider's configuration is wrong (one line, naming the setting and the key)."""
