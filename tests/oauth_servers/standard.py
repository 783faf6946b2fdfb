"""A real OAuth 2.0 / OpenID Connect authorization server on 127.0.0.1, built with Authlib's
server components (grants, PKCE, OpenID Connect code flow, Bearer validation), plus a protected
API for crawls.

- ``GET /.well-known/openid-configuration`` (and ``oauth-authorization-server``), ``/jwks.json``;
- ``GET /authorize``: a consent page (pick a person, approve or deny; ``POST /authorize``), or
  with ``auto_approve`` an immediate redirect as that person; PKCE (S256) required, ``nonce``
  required for ``openid``; ID tokens signed RS256;
- ``POST /token``: ``authorization_code``, ``refresh_token`` (rotated: the old one is revoked),
  ``client_credentials``; RFC 6749 ``{"error": ...}`` answers;
- ``GET /userinfo``; ``GET /api/items?page=N``: items, 401 ``invalid_token`` once expired;
- ``GET /api/user``: who a token belongs to, as GitHub's user API says it (no OIDC);
- ``GET /api/moved?page=N``: a page that moved to ``Server.moved_to`` (another host), the way a
  careless server says it: its ``Location`` carries the caller's bearer token (``&leak=TOKEN``,
  or ``/t/TOKEN/`` in the path with ``in=path``).

``StandardServer.state`` counts token requests per grant (``refreshes``) and API requests; the
clock is injectable and tokens expire after ``access_ttl`` seconds; ``expire_after_uses`` makes
each access token say "expired" after that many API answers.

    python -m tests.oauth_servers.standard [--port 0] [--client-id c --client-secret s]
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey

from tests.oauth_servers.running import Clock, ServerThread, main

USERS = {
    "alice": {
        "sub": "u-alice",
        "id": 1001,
        "name": "Alice",
        "email": "alice@example.test",
        "email_verified": True,
        "groups": ["admins"],
    },
    "bob": {
        "sub": "u-bob",
        "id": 1002,
        "name": "Bob",
        "email": "bob@example.test",
        "email_verified": False,  # anyone may claim an address they have not proven
        "groups": ["viewers"],
    },
}
ITEMS, PAGE_SIZE = 40, 5


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str] = field(default_factory=list)  # empty: any loopback URI
    scope: str = "openid profile email read"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, uri: str) -> bool:
        if self.redirect_uris:
            return uri in self.redirect_uris
        return uri.startswith(("http://127.0.0.1:", "http://localhost:"))

    def check_client_secret(self, secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client_secret is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return True


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class IssuedToken:
    access_token: str
    refresh_token: str | None
    client_id: str
    user: str | None
    scope: str
    issued_at: float
    expires_in: int
    clock: Clock
    revoked: bool = False
    uses: int = 0

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.clock() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str | None:
        return self.user

    def get_client(self) -> Client:  # pragma: no cover - Authlib asks for it on revocation
        raise NotImplementedError


class AioRequest(OAuth2Request):
    """An aiohttp request, read beforehand (Authlib's grants are synchronous)."""

    def __init__(self, method: str, uri: str, headers: Any, data: dict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict[str, str]:
        return self._data

    @property
    def form(self) -> dict[str, str]:
        return self._data


class Server(AuthorizationServer):
    def __init__(self, *, clock: Clock, access_ttl: int, key: RSAKey) -> None:
        super().__init__(scopes_supported=["openid", "profile", "email", "read"])
        self.clock = clock
        self.key = key
        self.issuer = ""  # the base URL, learnt from the first request
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.by_refresh: dict[str, IssuedToken] = {}
        self.nonces: set[str] = set()
        self.state = {"token_requests": 0, "refreshes": 0, "client_credentials": 0,
                      "codes_exchanged": 0, "api_requests": 0, "api_rejected": 0, "errors": []}  # fmt: skip
        self.expire_after_uses = 0
        self.moved_to = ""  # where /api/moved sends the caller (a base URL)
        self.state["moved"] = 0
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **kw: secrets.token_urlsafe(24),
                refresh_token_generator=lambda **kw: secrets.token_urlsafe(32),
                expires_generator=lambda client, grant_type: self.access_ttl,
            ),
        )
        self.access_ttl = access_ttl

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        issued = IssuedToken(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            client_id=request.client.client_id,
            user=request.user,
            scope=token.get("scope", ""),
            issued_at=self.clock(),
            expires_in=int(token["expires_in"]),
            clock=self.clock,
        )
        self.tokens[issued.access_token] = issued
        if issued.refresh_token:
            self.by_refresh[issued.refresh_token] = issued

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: AioRequest) -> AioRequest:
        return request

    def create_json_request(self, request: AioRequest) -> AioRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list) -> web.Response:
        text = json.dumps(body) if isinstance(body, dict) else (body or "")
        hdrs = dict(headers or [])
        if isinstance(body, dict):
            hdrs["Content-Type"] = "application/json"
        return web.Response(status=status, text=text, headers=hdrs)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.codes[code] = Code(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope or "",
            user=request.user,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=int(self.server.clock()),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.codes.pop(authorization_code.code, None)
        if authorization_code.nonce:
            self.server.nonces.add(authorization_code.nonce)
        self.server.state["codes_exchanged"] += 1

    def authenticate_user(self, authorization_code: Code) -> str:
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        found = self.server.by_refresh.get(refresh_token)
        return found if found and not found.revoked else None

    def authenticate_user(self, refresh_token: IssuedToken) -> str | None:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        refresh_token.revoked = True
        self.server.state["refreshes"] += 1


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def create_token_response(self) -> Any:
        self.server.state["client_credentials"] += 1
        return super().create_token_response()


class OpenIDCodeExtension(OpenIDCode):
    def __init__(self, server: Server) -> None:
        super().__init__(require_nonce=True)
        self.server = server

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        """A nonce is used once: by a code issued, or exchanged, before."""
        issued = any(code.nonce == nonce for code in self.server.codes.values())
        return issued or nonce in self.server.nonces

    def get_client_algorithm(self, client: Any) -> str:
        return "RS256"

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.server.key.kid}

    def resolve_client_private_key(self, client: Any) -> RSAKey:
        return self.server.key

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(self.server.clock())
        return {"iss": self.server.issuer, "aud": [client.client_id], "iat": now, "exp": now + 3600}

    def generate_user_info(self, user: str, scope: str) -> UserInfo:
        return user_info(user, scope)


def user_info(user: str, scope: str) -> UserInfo:
    person = USERS[user]
    info = UserInfo(sub=person["sub"])
    if "profile" in scope.split():
        info["name"] = person["name"]
        info["groups"] = person["groups"]
    if "email" in scope.split():
        info["email"] = person["email"]
        info["email_verified"] = person["email_verified"]
    return info


class TokenValidator(BearerTokenValidator):
    def __init__(self, server: Server) -> None:
        super().__init__()
        self.server = server

    def authenticate_token(self, token_string: str) -> IssuedToken | None:
        return self.server.tokens.get(token_string)


SERVER = web.AppKey("server", Server)


def _learn_issuer(server: Server, request: web.Request) -> None:
    if not server.issuer:
        server.issuer = str(request.url.origin())


async def discovery(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    _learn_issuer(server, request)
    base = server.issuer
    return web.json_response(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": server.scopes_supported,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
        }
    )


async def jwks(request: web.Request) -> web.Response:
    key = request.app[SERVER].key
    return web.json_response({"keys": [key.as_dict(private=False)]})


def _oauth_request(request: web.Request, data: dict[str, str]) -> AioRequest:
    return AioRequest(request.method, str(request.url), request.headers, data)


def _consent_page(params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    people = "".join(f'<option value="{u}">{u}</option>' for u in USERS)
    return (
        "<!doctype html><title>Authorize</title><h1>Authorize the application</h1>"
        f'<form method="post" action="/authorize">{hidden}'
        f'<label>Person <select name="user">{people}</select></label>'
        '<button name="decision" value="approve">Approve</button>'
        '<button name="decision" value="deny">Deny</button></form>'
    )


async def authorize(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER]
    _learn_issuer(server, request)
    if request.method == "POST":
        form = dict(await request.post())
        decision, user = form.pop("decision", "deny"), form.pop("user", "")
    else:
        form, decision, user = dict(request.query), None, request.app[AUTO_APPROVE]
    oauth_request = _oauth_request(request, form)
    try:
        grant = server.get_consent_grant(oauth_request, end_user=None)
    except OAuth2Error as error:
        return web.Response(status=400, text=f"authorization refused: {error.error}")
    if decision is None and not user:
        return web.Response(text=_consent_page(form), content_type="text/html")
    person = user if decision in (None, "approve") and user in USERS else None
    return server.create_authorization_response(oauth_request, grant_user=person, grant=grant)


async def token(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    _learn_issuer(server, request)
    server.state["token_requests"] += 1
    form = {k: str(v) for k, v in (await request.post()).items()}
    response = server.create_token_response(_oauth_request(request, form))
    if response.status != 200:
        server.state["errors"].append(json.loads(response.text).get("error"))
    return response


def _bearer(request: web.Request) -> IssuedToken | None:
    server = request.app[SERVER]
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    validator = TokenValidator(server)
    found = validator.authenticate_token(header[len("Bearer ") :])
    try:
        validator.validate_token(found, None, None)
    except OAuth2Error:
        return None
    return found


def _unauthorized() -> web.Response:
    return web.json_response(
        {"error": "invalid_token", "error_description": "The access token expired"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def userinfo(request: web.Request) -> web.Response:
    found = _bearer(request)
    if found is None or found.user is None:
        return _unauthorized()
    return web.json_response(dict(user_info(found.user, found.scope)))


async def api_user(request: web.Request) -> web.Response:
    """A GitHub-style user API (``GET /user``): the person behind a token, without OIDC."""
    found = _bearer(request)
    if found is None or found.user is None:
        return _unauthorized()
    person = USERS[found.user]
    return web.json_response({"id": person["id"], "login": found.user, "name": person["name"],
                              "email": person["email"]})  # fmt: skip


async def api_items(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    server.state["api_requests"] += 1
    latency = request.app[LATENCY]
    if latency:
        import asyncio

        await asyncio.sleep(latency)
    found = _bearer(request)
    if found is not None and server.expire_after_uses:
        found.uses += 1
        if found.uses > server.expire_after_uses:
            found.issued_at = 0  # expired, whatever the clock says
            found = None
    if found is None:
        server.state["api_rejected"] += 1
        return _unauthorized()
    return web.json_response(items_page(request.query.get("page", "1"), request.path))


async def api_moved(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    server.state["moved"] += 1
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    page = urlencode({"page": request.query.get("page", "1")})
    if request.query.get("in") == "path":
        raise web.HTTPFound(f"{server.moved_to}/t/{token}/api/items?{page}")
    raise web.HTTPFound(f"{server.moved_to}/api/items?{page}&{urlencode({'leak': token})}")


def items_page(page_text: str, path: str) -> dict[str, Any]:
    page = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
    first = (page - 1) * PAGE_SIZE
    items = [
        {"id": n, "title": f"Item {n}"} for n in range(first + 1, min(first + PAGE_SIZE, ITEMS) + 1)
    ]
    more = first + PAGE_SIZE < ITEMS
    return {"items": items, "next": f"{path}?{urlencode({'page': page + 1})}" if more else None}


AUTO_APPROVE = web.AppKey("auto_approve", str)
LATENCY = web.AppKey("latency", float)


def create_app(
    *,
    clients: list[Client] | None = None,
    access_ttl: int = 3600,
    clock: Clock | None = None,
    auto_approve: str = "",
    latency: float = 0.0,
) -> web.Application:
    """The server's app; ``app[SERVER]`` is the Authlib server (its ``state``, clients...)."""
    server = Server(
        clock=clock or Clock(),
        access_ttl=access_ttl,
        key=RSAKey.generate_key(
            2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"}
        ),
    )
    for client in clients or [Client("crawler", "crawler-secret-0123456789")]:
        server.clients[client.client_id] = client
    server.register_grant(
        AuthorizationCodeGrant, [CodeChallenge(required=True), OpenIDCodeExtension(server)]
    )
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    app = web.Application()
    app[SERVER], app[AUTO_APPROVE], app[LATENCY] = server, auto_approve, latency
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/.well-known/oauth-authorization-server", discovery)
    app.router.add_get("/jwks.json", jwks)
    app.router.add_route("*", "/authorize", authorize)
    app.router.add_post("/token", token)
    app.router.add_get("/userinfo", userinfo)
    app.router.add_get("/api/items", api_items)
    app.router.add_get("/api/user", api_user)
    app.router.add_get("/api/moved", api_moved)
    return app


class StandardServer(ServerThread):
    """``with StandardServer(access_ttl=5) as s: s.url, s.server.state``."""

    def __init__(self, **kwargs: Any) -> None:
        self.clock = kwargs.setdefault("clock", Clock())
        super().__init__(create_app(**kwargs))
        self.server = self.app[SERVER]


def _build(args: argparse.Namespace) -> web.Application:
    return create_app(
        clients=[Client(args.client_id, args.client_secret)],
        access_ttl=args.access_ttl,
        auto_approve=args.auto_approve,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.oauth_servers.standard")
    parser.add_argument("--client-id", default="crawler")
    parser.add_argument("--client-secret", default="crawler-secret-0123456789")
    parser.add_argument("--access-ttl", type=int, default=3600)
    parser.add_argument("--auto-approve", default="", help="approve every request as this person")
    main(_build, parser)
