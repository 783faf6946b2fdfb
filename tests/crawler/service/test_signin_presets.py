"""Signing in with the presets (WeCom, DingTalk, Feishu, GitHub, Weibo) against their loopback
providers (tests/oauth_servers/presets.py), end to end through the service: the authorization
URL as each provider documents it, the state bound to the browser, the person landing with the
role the roles file gives (by ``provider:user-id`` or by department / organisation), and each
provider's error codes (an invalid or used code, an expired one, a refused secret, an app not
authorised for the person) as one-line failures, logged once, with no secret or token in any
answer or log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.testclient import TestClient

from crawler.oauth import ProviderError
from crawler.service.signin.signin_providers import signin_providers
from tests.crawler.service.conftest import Service, make_service
from tests.crawler.service.signin_support import LogLines, form_of
from tests.oauth_servers.presets import (
    AGENT_ID,
    CLIENT_ID,
    DINGTALK_USER,
    FEISHU_USER,
    SECRET,
    PresetServer,
)

PRESETS = ("wecom", "dingtalk", "feishu", "github", "weibo")
BASES = {"wecom": ("login_base", "api_base"), "dingtalk": ("login_base", "api_base"),
         "feishu": ("accounts_base", "open_base"), "github": ("web_base", "api_base"),
         "weibo": ("api_base",), "lark": ("accounts_base", "open_base")}  # fmt: skip
# the person's id at each, and a department / organisation / tenant where the provider has one
PERSON = {"wecom": "wecom:zhangsan", "dingtalk": f"dingtalk:{DINGTALK_USER['unionId']}",
          "feishu": f"feishu:{FEISHU_USER['union_id']}", "github": "github:1001",
          "weibo": "weibo:5551234567", "lark": f"lark:{FEISHU_USER['union_id']}"}  # fmt: skip
GROUP = {"wecom": "group:wecom:3", "dingtalk": "group:dingtalk:ding0123456789corp",
         "feishu": f"group:feishu:{FEISHU_USER['tenant_key']}", "github": "group:github:acme"}  # fmt: skip
NAMES = {"wecom": "张三", "dingtalk": "张三", "feishu": "张三", "github": "Zhang San",
         "weibo": "张三的微博", "lark": "张三"}  # fmt: skip
AUTHORIZE = {"wecom": "/wwlogin/sso/login", "dingtalk": "/oauth2/auth",
             "feishu": "/open-apis/authen/v1/authorize", "github": "/login/oauth/authorize",
             "weibo": "/oauth2/authorize", "lark": "/open-apis/authen/v1/authorize"}  # fmt: skip


def preset_config(url: str, env: str = "SIGNIN_PRESET_SECRET") -> dict[str, dict[str, Any]]:
    config: dict[str, dict[str, Any]] = {}
    for name in (*PRESETS, "lark"):  # Lark: Feishu on larksuite.com
        entry = {"preset": name, "client_id": CLIENT_ID, "client_secret_env": env}
        entry.update({key: url for key in BASES[name]})
        if name == "wecom":
            entry["agent_id"] = AGENT_ID
        config[name] = entry
    return config


@dataclass
class PresetWorld:
    service: Service
    server: PresetServer
    roles_file: Path
    log: list[str] = field(default_factory=list)

    @property
    def client(self) -> TestClient:
        return self.service.client

    def roles(self, *entries: tuple[str, str]) -> None:
        people = [{"id": i, "role": r} for i, r in entries]
        self.roles_file.write_text(json.dumps({"people": people}), encoding="utf-8")

    def secrets(self) -> set[str]:
        return {SECRET, *self.server.providers.tokens, *self.server.providers.codes}


@pytest.fixture
def presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PresetWorld]:
    monkeypatch.setenv("SIGNIN_PRESET_SECRET", SECRET)
    monkeypatch.setenv("SIGNIN_TEST_SESSION_KEY", "session-key-for-tests-0123456789abcdef")
    log: list[str] = []
    handler, root = LogLines(log), logging.getLogger()
    loggers = [logging.getLogger(n) for n in ("", "urllib3", "crawler")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        with PresetServer() as server:
            roles_file = tmp_path / "secrets" / "roles.yaml"
            values = {
                "SIGNIN_PROVIDERS": json.dumps(preset_config(server.url)),
                "SIGNIN_ROLES_FILE": str(roles_file),
                "SIGNIN_SESSIONS_FILE": str(tmp_path / "secrets" / "sessions.db"),
                "SIGNIN_SECRET_ENV": "SIGNIN_TEST_SESSION_KEY",
                "SIGNIN_SECRET_FILE": str(tmp_path / "secrets" / "session.key"),
            }
            for service in make_service("sqlite", tmp_path, **values):
                yield PresetWorld(service, server, roles_file, log)
    finally:
        root.removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def start(client: TestClient, provider: str) -> str:
    answer = client.get(f"/api/auth/{provider}/login", params={"next": "/#/rules"},
                        follow_redirects=False)  # fmt: skip
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def at_provider(url: str, confirm: bool = True) -> str:
    """The person opens the provider's page and allows (or denies): where they are sent back."""
    page = requests.get(url, allow_redirects=False, timeout=10)
    if page.status_code == 302:
        return page.headers["Location"]
    action, data = form_of(page.text, confirm="yes" if confirm else "no")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    answer = requests.post(origin + action, data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def back(client: TestClient, url: str) -> Any:
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def sign_in(client: TestClient, provider: str, confirm: bool = True) -> Any:
    return back(client, at_provider(start(client, provider), confirm))


def person(client: TestClient) -> dict | None:
    return client.get("/api/auth/session").json()["person"]


@pytest.mark.parametrize("provider", [*PRESETS, "lark"])
def test_each_preset_signs_in_with_the_role_of_its_user_id(presets, provider):
    presets.roles((PERSON[provider], "editor"))
    url = start(presets.client, provider)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == AUTHORIZE[provider] and len(query["state"]) == 32
    assert query.get("appid", query.get("client_id")) == CLIENT_ID
    assert query["redirect_uri"] == f"http://testserver/api/auth/{provider}/callback"
    assert ("code_challenge" in query) == (provider in ("feishu", "lark", "github"))
    assert SECRET not in url
    answer = back(presets.client, at_provider(url))
    assert answer.status_code == 303 and answer.headers["location"] == "/#/rules", answer.text
    me = person(presets.client)
    assert (me["role"], me["name"], me["provider"]) == ("editor", NAMES[provider], provider)
    assert me["id"] == "sub:" + PERSON[provider]
    assert presets.server.providers.state["exchanges"] == 1


@pytest.mark.parametrize("provider", sorted(GROUP))
def test_a_department_organisation_or_tenant_gives_its_role(presets, provider):
    presets.roles((GROUP[provider], "viewer"), ("group:other:3", "admin"))
    if provider == "github":  # orgs are read (scope read:org) only when the roles file names one
        assert "read:org" in parse_qs(urlsplit(start(presets.client, "github")).query)["scope"][0]
    assert sign_in(presets.client, provider).status_code == 303
    assert person(presets.client)["role"] == "viewer"


def test_without_a_role_the_person_learns_their_id(presets):
    presets.roles(("group:github:acme", "viewer"))
    answer = sign_in(presets.client, "weibo")
    assert answer.status_code == 403
    assert answer.json()["reason"] == "no_role" and answer.json()["id"] == "sub:weibo:5551234567"


def test_a_forged_state_is_refused_before_the_code_is_exchanged(presets):
    presets.roles((PERSON["wecom"], "admin"))
    url = at_provider(start(presets.client, "wecom"))
    forged = url.replace("state=", "state=0")
    answer = back(presets.client, forged)
    assert answer.status_code == 400 and answer.json()["reason"] == "state"
    assert presets.server.providers.state["exchanges"] == 0
    assert back(presets.client, url).json()["reason"] == "state"  # the state was used up


# provider -> its error for (an invalid or used code, a code past its lifetime, a refused secret,
# an app that may not sign the person in)
ERRORS = {
    "wecom": (40029, 40029, 40001, 60011),
    "dingtalk": ("invalidParameter.authCode.notFound", "invalidParameter.authCode.notFound",
                 "invalidClientIdOrSecret", "Forbidden.AccessDenied.AccessTokenPermissionDenied"),
    "feishu": (20003, 20004, 20002, 20010),
    "github": ("bad_verification_code", "bad_verification_code", "incorrect_client_credentials",
               "application_suspended"),
    "weibo": (21325, 21325, 21324, 21321),
}  # fmt: skip


@pytest.mark.parametrize("provider", PRESETS)
def test_each_providers_error_codes_are_one_line_failures(presets, provider):
    presets.roles((PERSON[provider], "admin"))
    client, server = presets.client, presets.server
    used, expired, client_error, not_allowed = ERRORS[provider]
    # a code used twice (reloading the callback): the provider says it is invalid
    url = at_provider(start(client, provider))
    assert back(client, url).status_code == 303
    client.cookies.clear()
    code = parse_qs(urlsplit(url).query).get("code", [""])[0]
    again = at_provider(start(client, provider))
    fresh = parse_qs(urlsplit(again).query)["code"][0]
    answer = back(client, again.replace(fresh, code))
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == "code_rejected" and answer.json()["errcode"] == str(used)
    # a code older than its lifetime
    url = at_provider(start(client, provider))
    server.clock.advance(700)
    answer = back(client, url)
    assert answer.json()["reason"] == "code_rejected" and answer.json()["errcode"] == str(expired)
    # the secret was reset at the provider: an administrator must act
    url = at_provider(start(client, provider))
    flow = client.app.state.signin.flows[provider]
    secret, flow.secret = flow.secret, "reset-at-the-provider"
    getattr(flow.api, "tokens", {}).clear()  # WeCom's corp token, kept until it expires
    answer = back(client, url)
    flow.secret = secret
    assert answer.status_code == 502 and answer.json()["reason"] == "client_rejected"
    assert answer.json()["errcode"] == str(client_error)
    assert "SIGNIN_PRESET_SECRET" in answer.json()["error_description"]
    # the app may not sign this person in
    server.providers.allowed = False
    answer = sign_in(client, provider)
    assert answer.status_code == 403 and answer.json()["reason"] == "not_allowed"
    assert answer.json()["errcode"] == str(not_allowed)
    assert person(client) is None
    refusals = [line for line in presets.log if "sign-in refused" in line]
    assert len(refusals) == 4 and all("Traceback" not in line for line in presets.log)
    assert f"(error {not_allowed})" in refusals[-1]
    text = "\n".join(presets.log)
    assert [s for s in presets.secrets() if s in text] == []


@pytest.mark.parametrize("provider", ["github", "weibo", "feishu"])
def test_a_person_who_says_no(presets, provider):
    presets.roles((PERSON[provider], "admin"))
    answer = sign_in(presets.client, provider, confirm=False)
    assert answer.status_code == 403 and answer.json()["reason"] == "access_denied"
    assert presets.server.providers.state["exchanges"] == 0


def test_a_failure_in_a_browser_is_the_sign_in_page(presets):
    presets.roles((PERSON["weibo"], "admin"))
    url = at_provider(start(presets.client, "weibo"), confirm=False)
    parts = urlsplit(url)
    answer = presets.client.get(f"{parts.path}?{parts.query}", follow_redirects=False,
                                headers={"Accept": "text/html"})  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/#/signin?error=access_denied&")


def test_a_provider_that_cannot_be_reached(presets):
    url = at_provider(start(presets.client, "dingtalk"))
    presets.server.stop()
    answer = back(presets.client, url)
    assert answer.status_code == 503 and answer.json()["reason"] == "unreachable"


def test_no_secret_or_token_in_answers_or_the_log(presets):
    presets.roles(*((PERSON[p], "viewer") for p in PRESETS))
    seen = []
    for provider in PRESETS:
        client = TestClient(presets.client.app)
        answer = sign_in(client, provider)
        seen += [answer.text, json.dumps(dict(answer.headers)), json.dumps(person(client))]
    secrets = presets.secrets()
    assert len(secrets) > 8
    text = "\n".join([*seen, *presets.log])
    assert [s for s in secrets if s in text] == []
    assert sum("signed in with" in line for line in presets.log) == len(PRESETS)


def test_presets_are_checked():
    good = {"preset": "feishu", "client_id": "cli_1", "client_secret_env": "S"}
    assert signin_providers({"f": good})["f"].base("open_base") == "https://open.feishu.cn"
    lark = signin_providers({"l": {**good, "preset": "lark"}})["l"]
    assert lark.base("accounts_base") == "https://accounts.larksuite.com"
    ghe = {"preset": "github", "client_id": "c", "client_secret_env": "S",
           "web_base": "https://git.example.com", "api_base": "https://git.example.com/api/v3"}  # fmt: skip
    assert signin_providers({"g": ghe})["g"].base("api_base") == "https://git.example.com/api/v3"
    for bad, words in (
        ({**good, "client_secret": "x"}, "never put a secret"),
        ({**good, "client_secret_env": ""}, "client_secret_env is required"),
        ({**good, "preset": "qq"}, "preset must be one of"),
        ({**good, "open_base": "http://open.example.com"}, "https://"),
        ({**good, "open_base": "https://open.example.com/?x=1"}, "https://"),
        ({**good, "issuer": "https://id.test"}, "unknown key(s) issuer"),
        ({"preset": "wecom", "client_id": "ww1", "client_secret_env": "S"}, "agent_id"),
    ):
        with pytest.raises(ProviderError, match=words.replace("(", r"\(").replace(")", r"\)")):
            signin_providers({"p": bad})


@pytest.mark.parametrize(
    "page", ["wecom", "dingtalk", "feishu", "github", "weibo", "wechat-embedded"]
)
def test_the_deployment_file_of_each_docs_page_is_good(tmp_path, page):
    import crawler.settings
    from crawler.config import load_deployment

    project = {n: getattr(crawler.settings, n) for n in dir(crawler.settings) if n.isupper()}
    doc = (Path(__file__).resolve().parents[3] / "docs" / "signin" / f"{page}.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```yaml\n")[1:]]
    (example,) = [b for b in blocks if "SIGNIN_PROVIDERS:" in b]
    path = tmp_path / "crawler.yaml"
    path.write_text(example, encoding="utf-8")
    env = {"CRAWLER_STATE_DIR": str(tmp_path / "state"), "CRAWLER_CONFIG": str(path)}
    found = load_deployment(project, env)
    assert found.problems == [] and found.warnings == []
    assert signin_providers(found.values["SIGNIN_PROVIDERS"])


def test_only_an_embedded_wechat_provider_has_an_embed_start_and_a_frame_policy(presets):
    client = presets.client
    assert client.get("/api/auth/wecom/embed").status_code == 404
    assert client.get("/api/auth/nope/embed").status_code == 404
    assert "frame-src" not in client.get("/").headers["content-security-policy"]
    shown = client.get("/api/auth/session").json()["providers"]
    assert [p["kind"] for p in shown] == ["oauth"] * (len(PRESETS) + 1)
    assert all(set(p) == {"name", "label", "kind"} for p in shown)  # no id, no endpoint
