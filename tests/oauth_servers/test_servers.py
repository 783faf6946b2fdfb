"""The loopback OAuth servers behave as their documentation says: WeChat's pages, codes, errors
(HTTP 200 JSON) and languages; the Authlib server's discovery, PKCE and signed ID tokens."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oauth_servers.standard import StandardServer
from tests.oauth_servers.wechat import App, WeChatServer

APPID, SECRET = "wx0123456789abcdef", "wechat-app-secret-0123456789"
CALLBACK = "http://127.0.0.1:9/cb"


@pytest.fixture
def wechat():
    with WeChatServer(
        access_ttl=60, apps=[App(APPID, SECRET), App("wxother", "s2", unionid_bound=False)]
    ) as server:
        yield server


def page(server, path: str, **params: str) -> requests.Response:
    query = {"appid": APPID, "redirect_uri": CALLBACK, "response_type": "code", **params}
    return requests.get(f"{server.url}{path}?{urlencode(query)}", allow_redirects=False, timeout=10)


def code_from(answer: requests.Response) -> str:
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    return query["code"][0]


def sns(server, path: str, **params: str) -> dict:
    answer = requests.get(f"{server.url}/sns/{path}", params=params, timeout=10)
    assert answer.status_code == 200  # errors too: WeChat answers them with HTTP 200
    return answer.json()


def test_wechat_pages_check_appid_callback_domain_scope_and_state(wechat):
    assert (
        "unknown appid"
        in page(wechat, "/connect/qrconnect", appid="wxnope", scope="snsapi_login").text
    )
    wrong_domain = page(
        wechat, "/connect/qrconnect", scope="snsapi_login", redirect_uri="http://evil.test/cb"
    )
    assert "callback domain" in wrong_domain.text
    assert "scope" in page(wechat, "/connect/qrconnect", scope="snsapi_base").text
    assert "state" in page(wechat, "/connect/qrconnect", scope="snsapi_login", state="a-b").text
    assert "state" in page(wechat, "/connect/qrconnect", scope="snsapi_login", state="a" * 129).text


def test_wechat_silent_base_scope_and_a_confirm_page_for_userinfo(wechat):
    code_from(page(wechat, "/connect/oauth2/authorize", scope="snsapi_base", state="x1"))
    confirm = page(wechat, "/connect/oauth2/authorize", scope="snsapi_userinfo", state="x2")
    assert confirm.status_code == 200 and 'action="/connect/confirm"' in confirm.text
    form = dict(parse_qs(urlencode({"appid": APPID, "redirect_uri": CALLBACK, "response_type": "code",
                                    "scope": "snsapi_userinfo", "state": "x2", "confirm": "yes"})))  # fmt: skip
    answer = requests.post(f"{wechat.url}/connect/confirm", data={k: v[0] for k, v in form.items()},
                           allow_redirects=False, timeout=10)  # fmt: skip
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["state"] == ["x2"]
    qr = page(wechat, "/connect/qrconnect", scope="snsapi_login", state="x3")
    assert qr.status_code == 200 and "Scan" in qr.text  # a person confirms on the phone


def test_wechat_token_endpoints_and_every_error_code(wechat):
    code = code_from(page(wechat, "/connect/oauth2/authorize", scope="snsapi_base", state="s"))
    assert sns(wechat, "oauth2/access_token", appid=APPID, secret="bad", code=code,
               grant_type="authorization_code")["errcode"] == 40001  # fmt: skip
    assert sns(wechat, "oauth2/access_token", appid=APPID, secret=SECRET, code="nope",
               grant_type="authorization_code")["errcode"] == 40029  # fmt: skip
    token = sns(wechat, "oauth2/access_token", appid=APPID, secret=SECRET, code=code,
                grant_type="authorization_code")  # fmt: skip
    assert token["expires_in"] == 60 and {
        "access_token",
        "refresh_token",
        "openid",
        "scope",
        "unionid",
    } <= set(token)
    again = sns(
        wechat,
        "oauth2/access_token",
        appid=APPID,
        secret=SECRET,
        code=code,
        grant_type="authorization_code",
    )
    assert again == {"errcode": 40163, "errmsg": "code been used"}
    access, openid = token["access_token"], token["openid"]
    assert sns(wechat, "auth", access_token=access, openid=openid) == {"errcode": 0, "errmsg": "ok"}
    assert sns(wechat, "auth", access_token=access, openid="o-wrong")["errcode"] == 40003
    assert sns(wechat, "oauth2/refresh_token", appid=APPID, grant_type="refresh_token",
               refresh_token="nope")["errcode"] == 40030  # fmt: skip
    wechat.clock.advance(61)
    assert sns(wechat, "auth", access_token=access, openid=openid)["errcode"] == 42001
    assert sns(wechat, "userinfo", access_token=access, openid=openid)["errcode"] == 42001
    renewed = sns(wechat, "oauth2/refresh_token", appid=APPID, grant_type="refresh_token",
                  refresh_token=token["refresh_token"])  # fmt: skip
    assert renewed["refresh_token"] == token["refresh_token"] and renewed["openid"] == openid
    items = requests.get(
        f"{wechat.url}/api/items", params={"access_token": renewed["access_token"]}, timeout=10
    )
    assert [i["id"] for i in items.json()["items"]] == [1, 2, 3, 4, 5]
    wechat.clock.advance(61)
    expired = requests.get(
        f"{wechat.url}/api/items", params={"access_token": renewed["access_token"]}, timeout=10
    )
    assert expired.status_code == 200 and expired.json()["errcode"] == 42001


def test_wechat_userinfo_languages_and_unionid_only_when_bound(wechat):
    scanned = {"appid": APPID, "redirect_uri": CALLBACK, "response_type": "code",
               "scope": "snsapi_login", "state": "s", "confirm": "yes"}  # fmt: skip
    code = code_from(
        requests.post(
            f"{wechat.url}/connect/confirm", data=scanned, allow_redirects=False, timeout=10
        )
    )
    token = sns(
        wechat,
        "oauth2/access_token",
        appid=APPID,
        secret=SECRET,
        code=code,
        grant_type="authorization_code",
    )
    ask = {"access_token": token["access_token"], "openid": token["openid"]}
    assert sns(wechat, "userinfo", **ask, lang="zh_CN")["city"] == "广州"
    assert sns(wechat, "userinfo", **ask, lang="zh_TW")["city"] == "廣州"
    assert sns(wechat, "userinfo", **ask, lang="en")["city"] == "Guangzhou"
    other = code_from(
        page(wechat, "/connect/oauth2/authorize", appid="wxother", scope="snsapi_base", state="s")
    )
    plain = sns(
        wechat,
        "oauth2/access_token",
        appid="wxother",
        secret="s2",
        code=other,
        grant_type="authorization_code",
    )
    assert "unionid" not in plain and plain["openid"] != token["openid"]


def test_standard_server_signs_id_tokens_with_the_nonce():
    from tests.crawler.oauth.support import client_for, standard_spec

    with StandardServer(auto_approve="alice") as server:
        client = client_for(
            "local", standard_spec(server.url, grant="refresh_token", scope="openid email")
        )
        url = client.authorization_url(CALLBACK, state="st", code_verifier="v" * 64, nonce="n-123")
        code = code_from(requests.get(url, allow_redirects=False, timeout=10))
        answer = requests.post(
            f"{server.url}/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                  "code_verifier": "v" * 64},
            auth=("crawler", "crawler-secret-0123456789"), timeout=10,
        ).json()  # fmt: skip
        keys = KeySet.import_key_set(requests.get(f"{server.url}/jwks.json", timeout=10).json())
        claims = jwt.decode(answer["id_token"], keys).claims
        assert claims["nonce"] == "n-123" and claims["sub"] == "u-alice"
        assert claims["iss"] == server.url and claims["aud"] == ["crawler"]
        assert claims["email"] == "alice@example.test"
        no_pkce = requests.get(
            url.replace("code_challenge", "x_challenge"), allow_redirects=False, timeout=10
        )
        assert no_pkce.status_code == 400 and "invalid_request" in no_pkce.text


@pytest.mark.parametrize("name", ["standard", "wechat"])
def test_servers_run_from_the_command_line(name):
    proc = subprocess.Popen([sys.executable, "-m", f"tests.oauth_servers.{name}"],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        path = "/.well-known/openid-configuration" if name == "standard" else "/sns/auth"
        assert requests.get(url + path, timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
