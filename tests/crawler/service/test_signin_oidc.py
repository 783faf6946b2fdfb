"""Signing in with OAuth 2.0 / OpenID Connect through Authlib against the loopback Authlib
authorization server: discovery, PKCE, state and nonce on the way out; the ID token checked on
the way back; roles by subject, verified email or group; a GitHub-style provider configured by
its endpoints whose user API says who signed in; every failure as an RFC 6749 error."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from tests.crawler.service.signin_support import (
    CLIENT_ID,
    at_provider,
    callback_path,
    code_and_state,
    sign_in,
    start,
)


def person(client: TestClient) -> dict | None:
    return client.get("/api/auth/session").json()["person"]


def test_the_authorization_request_has_pkce_state_and_nonce(world):
    url = start(world.client, "std")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{world.standard.url}/authorize?")  # from the discovery document
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and "openid" in query["scope"].split()
    assert query["redirect_uri"] == "http://testserver/api/auth/std/callback"
    assert "code_verifier" not in query and "client_secret" not in url


def test_roles_by_group_subject_and_only_a_verified_email(world):
    world.roles(("group:std:admins", "admin"), ("email:bob@example.test", "editor"))
    client = world.client
    assert sign_in(client, "std", person="alice").status_code == 303
    me = person(client)
    assert (me["id"], me["name"], me["role"]) == ("sub:std:u-alice", "Alice", "admin")
    assert world.standard.server.state["codes_exchanged"] == 1
    # Bob's address is not verified: it gives him nothing
    bob = TestClient(client.app)
    answer = sign_in(bob, "std", person="bob")
    assert answer.status_code == 403 and answer.json()["reason"] == "no_role"
    world.roles(("sub:std:u-bob", "viewer"), ("email:ALICE@example.test", "editor"))
    assert sign_in(bob, "std", person="bob").status_code == 303
    assert person(bob)["role"] == "viewer"
    assert person(client)["role"] == "editor"  # the roles file as it is now, at every request


def test_a_github_style_provider_says_who_through_its_api(world):
    world.roles(("sub:gh:1001", "viewer"))
    answer = sign_in(world.client, "gh", person="alice")
    assert answer.status_code == 303, answer.text
    me = person(world.client)
    assert (me["id"], me["name"], me["role"]) == ("sub:gh:1001", "alice", "viewer")


def test_a_forged_state_is_refused_and_no_code_exchanged(world):
    world.roles(("group:std:admins", "admin"))
    back = at_provider(start(world.client, "std"))
    code, state = code_and_state(back)
    answer = world.client.get(
        f"/api/auth/std/callback?code={code}&state=x{state}", follow_redirects=False
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request" and answer.json()["reason"] == "state"
    assert world.standard.server.state["codes_exchanged"] == 0
    assert person(world.client) is None


def test_rfc_6749_errors(world):
    world.roles(("group:std:admins", "admin"))
    client, server = world.client, world.standard.server
    # the person denies: the provider says access_denied
    back = at_provider(start(client, "std"), confirm=False)
    body = client.get(callback_path(back), follow_redirects=False).json()
    assert body["error"] == "access_denied" and body["reason"] == "access_denied"
    # the code is no longer valid at the provider (used, expired): invalid_grant
    back = at_provider(start(client, "std"))
    server.codes.clear()
    answer = client.get(callback_path(back), follow_redirects=False)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert "single-use" in answer.json()["error_description"]
    # the provider refuses the client secret: invalid_client, which an admin must fix
    server.clients[CLIENT_ID].client_secret = "rotated-at-the-provider"
    answer = client.get(callback_path(at_provider(start(client, "std"))), follow_redirects=False)
    assert answer.status_code == 502 and answer.json()["error"] == "invalid_client"
    assert "SIGNIN_OIDC_SECRET" in answer.json()["error_description"]
    assert "invalid_client" in server.state["errors"]
    assert person(client) is None


def test_an_id_token_for_another_nonce_is_refused(world):
    world.roles(("group:std:admins", "admin"))
    back = at_provider(start(world.client, "std"))
    code, _ = code_and_state(back)
    world.standard.server.codes[code].nonce = "a-nonce-this-browser-never-sent"
    answer = world.client.get(callback_path(back), follow_redirects=False)
    assert answer.status_code == 400 and answer.json()["reason"] == "id_token"
    assert person(world.client) is None


def test_a_provider_that_cannot_be_reached(world):
    world.standard.stop()  # before its discovery document was ever read
    answer = world.client.get("/api/auth/std/login", follow_redirects=False)
    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"
