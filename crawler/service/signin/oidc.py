"""Signing in with an OAuth 2.0 / OpenID Connect provider, through Authlib's Starlette client
(never by hand): authorization code with PKCE (S256), ``state`` kept in the browser's session
and checked, and for the ``openid`` scope a ``nonce`` and an ID token whose signature (the
provider's JWKS), issuer, audience, expiry and nonce Authlib checks. A provider is configured by
its issuer (OpenID Connect discovery) or by its endpoints; one without OpenID Connect (GitHub)
says who signed in through its API (``userinfo_url``).

The person is ``sub:<provider>:<subject>``; a verified email (``email_verified``, or
``trust_email`` for a provider that only gives verified ones) adds ``email:<address>``, and each
group of the groups claim ``group:<provider>:<group>``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

import httpx2
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from starlette.requests import Request

from crawler.service.signin.errors import SigninError
from crawler.service.signin.roles import Identity
from crawler.service.signin.signin_providers import SigninProvider

MAX_GROUPS = 200
CLIENT_ERRORS = {"invalid_client", "unauthorized_client"}


class OidcSignin:
    def __init__(
        self,
        provider: SigninProvider,
        secret: str | None,
        oauth: OAuth,
        *,
        timeout: float,
        learn: Callable[..., None],
    ) -> None:
        self.provider = provider
        self.learn = learn
        metadata: dict[str, Any] = {}
        if provider.issuer and "openid" in provider.scope.split():
            metadata["issuer"] = provider.issuer
        if provider.jwks_uri:
            metadata["jwks_uri"] = provider.jwks_uri
        if provider.userinfo_url:
            metadata["userinfo_endpoint"] = provider.userinfo_url
        discovery = f"{provider.issuer}/.well-known/openid-configuration"
        self.client = oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=secret,
            server_metadata_url=discovery if provider.issuer else None,
            authorize_url=provider.authorize_url,
            access_token_url=provider.token_url,
            client_kwargs={
                "scope": provider.scope,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": provider.token_auth_method if secret else "none",
                "timeout": timeout,
                "trust_env": False,
            },
            **metadata,
        )

    async def start(self, request: Request, redirect_uri: str) -> str:
        verifier = secrets.token_urlsafe(48)  # ours, so the log filter knows it before Authlib
        self.learn(verifier)
        try:
            found = await self.client.create_authorization_url(redirect_uri, code_verifier=verifier)
        except (httpx2.HTTPError, ValueError, RuntimeError):
            raise SigninError.of("unreachable", provider=self.provider.label) from None
        await self.client.save_authorize_data(request, redirect_uri=redirect_uri, **found)
        return found["url"]

    async def finish(self, request: Request) -> Identity:
        p = self.provider
        if request.query_params.get("code"):
            self.learn(request.query_params["code"])
        try:
            token = await self.client.authorize_access_token(request)
        except MismatchingStateError:
            raise SigninError.of("state", provider=p.label) from None
        except OAuthError as exc:
            raise self._oauth_error(exc) from None
        except JoseError:
            raise SigninError.of("id_token", provider=p.label) from None
        except (httpx2.HTTPError, ValueError, KeyError, RuntimeError):
            raise SigninError.of("unreachable", provider=p.label) from None
        self.learn(*(token.get(k) for k in ("access_token", "refresh_token", "id_token")))
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        if "openid" in p.scope.split() and not claims:  # no ID token, or none Authlib checked
            raise SigninError.of("id_token", provider=p.label)
        metadata = await self.client.load_server_metadata()
        if metadata.get("userinfo_endpoint"):
            claims = await self._userinfo(token, claims)
        return self.identity(claims)

    async def _userinfo(self, token: Mapping[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = await self.client.userinfo(token=dict(token))
        except (httpx2.HTTPError, OAuthError, ValueError):
            raise SigninError.of("unreachable", provider=self.provider.label) from None
        subject = self.provider.claims["subject"]
        if claims.get(subject) is not None and str(answer.get(subject)) != str(claims[subject]):
            # OpenID Connect core 5.3.2: user info about someone else is not used
            raise SigninError.of("id_token", provider=self.provider.label)
        return {**claims, **dict(answer)}

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        p, names = self.provider, self.provider.claims
        subject = claims.get(names["subject"])
        if subject in (None, ""):
            raise SigninError.of("no_identity", provider=p.label, detail=names["subject"])
        key = f"sub:{p.name}:{str(subject)[:255]}"
        keys = [key]
        email = claims.get(names["email"])
        if (
            isinstance(email, str)
            and "@" in email
            and (claims.get("email_verified") is True or p.trust_email)
        ):
            keys.append(f"email:{email.lower()[:254]}")
        groups = claims.get(names["groups"])
        if isinstance(groups, list):
            keys += [f"group:{p.name}:{str(g)[:255]}" for g in groups[:MAX_GROUPS] if g]
        name = claims.get(names["name"]) or claims.get("preferred_username") or email or subject
        return Identity(p.name, "standard", key, tuple(keys), str(name)[:60])

    def _oauth_error(self, exc: OAuthError) -> SigninError:
        p, error = self.provider, exc.error or "error"
        if error == "access_denied":
            return SigninError.of("access_denied", provider=p.label)
        if error in CLIENT_ERRORS:
            return SigninError.of("client_rejected", provider=p.label, env=p.secret_env or "")
        if error == "invalid_grant":
            return SigninError.of("code_rejected", provider=p.label)
        return SigninError.of("provider_error", provider=p.label, error=error, detail=error)
