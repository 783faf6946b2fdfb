"""The standard dialect (RFC 6749): tokens through Authlib's client (``OAuth2Session`` over
requests), never hand-made requests. Endpoints come from the provider's ``token_url`` /
``authorize_url`` or, with ``issuer``, from its discovery document (OpenID Connect, else RFC
8414). Errors become :mod:`crawler.oauth.errors` failures whose messages hold no secret.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from crawler.oauth.errors import (
    CodeRejected,
    InvalidClient,
    InvalidGrant,
    OAuthFailure,
    TokenEndpointError,
)
from crawler.oauth.source_providers import TokenClient
from crawler.oauth.source_tokens import Token

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
CLIENT_ERRORS = {"invalid_client", "unauthorized_client"}


class StandardClient(TokenClient):
    _endpoints: dict[str, Any] | None = None  # read once, from discovery or the provider

    # -- endpoints -------------------------------------------------------------------------

    def endpoints(self) -> dict[str, Any]:
        """``token_endpoint``, ``authorization_endpoint`` (and the rest of the discovery
        document when the provider is configured by its issuer)."""
        if self._endpoints is None:
            p = self.provider
            found: dict[str, Any] = {}
            if p.issuer:
                found = self._discover(p.issuer)
            if p.token_url:
                found["token_endpoint"] = p.token_url
            if p.authorize_url:
                found["authorization_endpoint"] = p.authorize_url
            if not found.get("token_endpoint"):
                raise self._failure(TokenEndpointError, "no token endpoint is known")
            self._endpoints = found
        return self._endpoints

    def _discover(self, issuer: str) -> dict[str, Any]:
        for path in DISCOVERY_PATHS:
            try:
                answer = requests.get(issuer + path, timeout=self.timeout)
            except requests.RequestException as exc:
                raise self._failure(
                    TokenEndpointError, f"discovery at {issuer} failed: {type(exc).__name__}"
                ) from None
            if answer.status_code == 200:
                try:
                    document = answer.json()
                except ValueError:
                    continue
                if isinstance(document, dict) and document.get("token_endpoint"):
                    return dict(document)
        raise self._failure(TokenEndpointError, f"no discovery document at {issuer}")

    # -- grants ----------------------------------------------------------------------------

    def client_credentials(self) -> Token:
        return self._call(
            lambda s: s.fetch_token(
                self.endpoints()["token_endpoint"], grant_type="client_credentials"
            ),
            refused=InvalidClient,
        )

    def refresh(self, refresh_token: str) -> Token:
        return self._call(
            lambda s: s.refresh_token(
                self.endpoints()["token_endpoint"], refresh_token=refresh_token
            ),
            refused=InvalidGrant,
            keep_refresh=refresh_token,
        )

    def authorization_url(
        self, redirect_uri: str, *, state: str, code_verifier: str, nonce: str | None = None
    ) -> str:
        url = self.endpoints().get("authorization_endpoint")
        if not url:
            raise self._failure(TokenEndpointError, "no authorization endpoint is known")
        extra = {"nonce": nonce} if nonce else {}
        with self._session(redirect_uri=redirect_uri) as session:
            uri, _ = session.create_authorization_url(
                url, state=state, code_verifier=code_verifier, **extra
            )
        return uri

    def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> Token:
        return self._call(
            lambda s: s.fetch_token(
                self.endpoints()["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            ),
            refused=CodeRejected,
            redirect_uri=redirect_uri,
        )

    # -- plumbing --------------------------------------------------------------------------

    def _session(self, **kwargs: Any) -> OAuth2Session:
        p = self.provider
        return OAuth2Session(
            client_id=p.client_id,
            client_secret=self.secret,
            scope=p.scope or None,
            token_endpoint_auth_method=p.token_auth_method if self.secret else "none",
            code_challenge_method="S256",
            **kwargs,
        )

    def _call(
        self,
        fetch: Callable[[OAuth2Session], Any],
        *,
        refused: type[OAuthFailure],
        keep_refresh: str | None = None,
        **session_kwargs: Any,
    ) -> Token:
        with self._session(**session_kwargs) as session:
            session.timeout = self.timeout
            try:
                answer = fetch(session)
            except OAuthError as exc:
                detail = exc.error or "error"
                if exc.error in CLIENT_ERRORS:
                    raise self._failure(InvalidClient, detail) from None
                if exc.error == "invalid_grant":
                    raise self._failure(refused, detail) from None
                raise self._failure(TokenEndpointError, detail) from None
            except requests.RequestException as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                if status in (400, 401) and refused is not CodeRejected:
                    raise self._failure(InvalidClient, f"HTTP {status}") from None
                what = f"HTTP {status}" if status else type(exc).__name__
                raise self._failure(TokenEndpointError, what) from None
            except ValueError as exc:  # an answer that is not a JSON object
                raise self._failure(TokenEndpointError, str(exc)) from None
        try:
            return Token.from_answer(dict(answer), now=self.clock(), refresh_token=keep_refresh)
        except ValueError as exc:
            raise self._failure(TokenEndpointError, str(exc)) from None

    def _failure(self, cls: type[OAuthFailure], detail: str) -> OAuthFailure:
        return cls(self.provider.name, self.credential, detail)
