"""The presets' loopback providers behave as their documentation says: pages refuse a foreign
client, a foreign callback or a missing PKCE challenge; GitHub answers JSON only when asked;
codes are single-use; every error in the provider's own shape."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.oauth_servers.presets import AGENT_ID, CLIENT_ID, SECRET, PresetServer

CALLBACK = "http://127.0.0.1:9/cb"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")


@pytest.fixture(scope="module")
def server():
    with PresetServer(auto_confirm=True) as server:
        yield server


def code(server, path: str, **params: str) -> str:
    query = {"client_id": CLIENT_ID, "redirect_uri": CALLBACK, "state": "s1", **params}
    answer = requests.get(f"{server.url}{path}?{urlencode(query)}", allow_redirects=False,
                          timeout=10)  # fmt: skip
    assert answer.status_code == 302, answer.text
    found = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert found["state"] == ["s1"]
    return (found.get("code") or found["authCode"])[0]


def test_pages_refuse_a_foreign_client_callback_or_no_pkce(server):
    github = f"{server.url}/login/oauth/authorize"
    for params, words in (
        ({"client_id": "nope"}, "unknown app"),
        ({"client_id": CLIENT_ID, "redirect_uri": "http://evil.test/cb"}, "callback domain"),
        ({"client_id": CLIENT_ID, "redirect_uri": CALLBACK}, "PKCE"),
    ):
        answer = requests.get(github, params={"state": "s", **params}, timeout=10)
        assert answer.status_code == 200 and words in answer.text


def test_github_answers_json_only_when_asked_and_codes_are_single_use(server):
    found = code(server, "/login/oauth/authorize", code_challenge=CHALLENGE.decode(),
                 code_challenge_method="S256", scope="read:user")  # fmt: skip
    form = {"client_id": CLIENT_ID, "client_secret": SECRET, "code": found,
            "redirect_uri": CALLBACK, "code_verifier": VERIFIER}  # fmt: skip
    url = f"{server.url}/login/oauth/access_token"
    assert requests.post(url, data=form, timeout=10).text.startswith("error=")
    json = {"Accept": "application/json"}
    token = requests.post(url, data=form, headers=json, timeout=10).json()["access_token"]
    again = requests.post(url, data=form, headers=json, timeout=10)
    assert again.status_code == 200 and again.json()["error"] == "bad_verification_code"
    user = requests.get(f"{server.url}/user", headers={"Authorization": f"Bearer {token}"},
                        timeout=10)  # fmt: skip
    assert user.json()["id"] == 1001


def test_wecom_and_weibo_errors_in_their_own_shapes(server):
    wecom = requests.get(f"{server.url}/cgi-bin/gettoken",
                         params={"corpid": CLIENT_ID, "corpsecret": "bad"}, timeout=10)  # fmt: skip
    assert wecom.status_code == 200 and wecom.json()["errcode"] == 40001
    found = code(server, "/wwlogin/sso/login", appid=CLIENT_ID, agentid=AGENT_ID)
    token = requests.get(f"{server.url}/cgi-bin/gettoken",
                         params={"corpid": CLIENT_ID, "corpsecret": SECRET}, timeout=10).json()  # fmt: skip
    who = requests.get(f"{server.url}/cgi-bin/auth/getuserinfo",
                       params={"access_token": token["access_token"], "code": found}, timeout=10)  # fmt: skip
    assert who.json() == {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}
    weibo = requests.post(f"{server.url}/oauth2/access_token",
                          data={"client_id": CLIENT_ID, "client_secret": SECRET,
                                "grant_type": "authorization_code", "code": "nope"}, timeout=10)  # fmt: skip
    assert weibo.status_code == 400
    assert weibo.json() == {"error": "invalid_grant", "error_code": 21325,
                            "request": "/oauth2/access_token"}  # fmt: skip


def test_dingtalk_and_feishu_token_errors(server):
    ding = requests.post(f"{server.url}/v1.0/oauth2/userAccessToken", timeout=10,
                         json={"clientId": CLIENT_ID, "clientSecret": SECRET, "code": "nope",
                               "grantType": "authorization_code"})  # fmt: skip
    assert ding.status_code == 400
    assert ding.json()["code"] == "invalidParameter.authCode.notFound"
    found = code(server, "/open-apis/authen/v1/authorize", code_challenge=CHALLENGE.decode(),
                 code_challenge_method="S256")  # fmt: skip
    feishu = requests.post(f"{server.url}/open-apis/authen/v2/oauth/token", timeout=10,
                           json={"grant_type": "authorization_code", "client_id": CLIENT_ID,
                                 "client_secret": SECRET, "code": found, "redirect_uri": CALLBACK,
                                 "code_verifier": "another-verifier"})  # fmt: skip
    assert feishu.status_code == 400 and feishu.json()["code"] == 20003
