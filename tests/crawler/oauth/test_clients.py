"""The token clients against the loopback servers: Authlib's client for the standard dialect,
WeChat's documented endpoints, and the one-time authorization through the redirect listener."""

from __future__ import annotations

import pytest

from crawler.oauth.authorize import AuthorizeError, authorize
from crawler.oauth.errors import CodeRejected, InvalidClient, InvalidGrant, NotAuthorized
from crawler.oauth.token_stores import SqliteTokenStore

from .support import (
    APP_SECRET,
    CLIENT_SECRET,
    approve,
    client_for,
    keeper_for,
    person_opening,
    standard_spec,
    wechat_spec,
)


def test_client_credentials_through_discovery(standard):
    client = client_for("local", standard_spec(standard.url))
    token = client.client_credentials()
    assert token.access_token and token.refresh_token is None
    assert token.expires_at is not None and token.expires_at > token.obtained_at
    assert standard.server.state["client_credentials"] == 1
    assert client.endpoints()["token_endpoint"] == f"{standard.url}/token"


def test_a_wrong_client_secret_is_invalid_client_and_the_message_holds_no_secret(standard):
    client = client_for("local", standard_spec(standard.url), secret="wrong-secret-value")
    with pytest.raises(InvalidClient) as caught:
        client.client_credentials()
    message = str(caught.value)
    assert "invalid_client" in message and "client_secret_env" not in message
    assert "wrong-secret-value" not in message and CLIENT_SECRET not in message


def test_authorization_code_with_pkce_nonce_and_rotated_refresh(standard, tmp_path):
    spec = standard_spec(standard.url, grant="refresh_token", scope="openid read")
    client = client_for("local", spec)
    store = SqliteTokenStore(tmp_path / "oauth.db")
    urls: list[str] = []
    token = authorize(client, store, credential="default", show=person_opening(urls), timeout=20)
    assert "code_challenge_method=S256" in urls[0] and "nonce=" in urls[0] and "state=" in urls[0]
    assert token.refresh_token and store.get("local/default") == token
    renewed = client.refresh(token.refresh_token)
    assert renewed.refresh_token != token.refresh_token  # the server rotates refresh tokens
    assert standard.server.state["refreshes"] == 1
    with pytest.raises(InvalidGrant) as caught:
        client.refresh(token.refresh_token)  # the old one was revoked by the rotation
    assert "scrapy auth authorize local` again" in str(caught.value)


def test_a_forged_state_is_refused(standard, tmp_path):
    spec = standard_spec(standard.url, grant="refresh_token")
    client = client_for("local", spec)
    store = SqliteTokenStore(tmp_path / "oauth.db")

    def forge(url: str) -> None:
        answer = approve(url.replace("state=", "state=forged"))
        assert answer.status_code in (200, 400)

    with pytest.raises(AuthorizeError, match="state is not ours"):
        authorize(client, store, credential="default", show=person_opening([], forge), timeout=20)
    assert store.get("local/default") is None


def test_keeper_without_a_stored_credential_says_to_authorize(standard, tmp_path):
    spec = standard_spec(standard.url, grant="refresh_token")
    client = client_for("local", spec)
    keeper = keeper_for(client.provider, client, SqliteTokenStore(tmp_path / "o.db"))
    with pytest.raises(NotAuthorized, match="run `scrapy auth authorize local` once"):
        keeper.token()


def test_wechat_authorization_exchange_refresh_and_userinfo(wechat, tmp_path):
    client = client_for("wx", wechat_spec(wechat.url))
    store = SqliteTokenStore(tmp_path / "oauth.db")
    urls: list[str] = []
    token = authorize(client, store, credential="default", show=person_opening(urls), timeout=20)
    assert urls[0].startswith(
        f"{wechat.url}/connect/qrconnect?appid=wx0123456789abcdef&redirect_uri="
    )
    assert urls[0].endswith("#wechat_redirect") and "scope=snsapi_login" in urls[0]
    assert token.openid and token.unionid and token.refresh_token
    assert client.check(token)
    info = client.userinfo(token, lang="en")
    assert info["country"] == "China" and client.userinfo(token, lang="zh_TW")["province"] == "廣東"
    renewed = client.refresh(token.refresh_token)
    assert renewed.access_token != token.access_token and wechat.wechat.state["refreshes"] == 1
    wechat.clock.advance(7201)
    assert not client.check(renewed)


def test_wechat_codes_are_single_use_and_expire(wechat):
    client = client_for("wx", wechat_spec(wechat.url))
    location = _code_for(client, wechat)
    client.exchange_code(location)
    with pytest.raises(CodeRejected, match="40163"):
        client.exchange_code(location)
    late = _code_for(client, wechat)
    wechat.clock.advance(301)
    with pytest.raises(CodeRejected, match="40029") as caught:
        client.exchange_code(late)
    assert "expired after 5 minutes" in str(caught.value)


def test_wechat_bad_secret_and_old_refresh_token(wechat):
    bad = client_for("wx", wechat_spec(wechat.url), secret="not-the-app-secret")
    with pytest.raises(InvalidClient, match="40001") as caught:
        bad.exchange_code(_code_for(bad, wechat))
    assert "not-the-app-secret" not in str(caught.value) and APP_SECRET not in str(caught.value)
    client = client_for("wx", wechat_spec(wechat.url))
    token = client.exchange_code(_code_for(client, wechat))
    wechat.clock.advance(31 * 86400)
    with pytest.raises(InvalidGrant, match="40030"):
        client.refresh(token.refresh_token)


def _code_for(client, server) -> str:
    """A code, as the callback would receive it (the redirect is not followed)."""
    import requests

    url = client.authorization_url("http://127.0.0.1:9/callback", state="s1")
    answer = requests.get(url.split("#")[0], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
