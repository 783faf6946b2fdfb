"""Signing in to the dashboard in a real headless Chromium against a real ``scrapy serve`` with
the sign-in presets (WeCom, DingTalk, Feishu, GitHub, Weibo) and WeChat's QR code embedded in
the sign-in page, against the loopback providers: a person picks a preset, allows it at the
provider, and lands on the dashboard with the role the roles file gives; the embedded QR code is
a frame of WeChat's ``qrconnect`` carrying WxLogin's parameters (the page's policy lets in that
frame's origin only), and confirming on the phone signs the person in. No secret or token is
on a page or in the service's log (DEBUG)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from playwright.sync_api import expect

from tests.dashboard.browser import VIEWPORT, watch_csp
from tests.dashboard.service import Service
from tests.oauth_servers.presets import AGENT_ID, CLIENT_ID, SECRET, PresetServer
from tests.oauth_servers.wechat import App, WeChatServer

QR = App("wx0123456789abcdef", "wechat-web-app-secret-0123456789")
ENV = {"DASH_PRESET_SECRET": SECRET, "DASH_QR_SECRET": QR.secret}
BASES = {"wecom": ("login_base", "api_base"), "dingtalk": ("login_base", "api_base"),
         "feishu": ("accounts_base", "open_base"), "github": ("web_base", "api_base"),
         "weibo": ("api_base",)}  # fmt: skip
LABELS = {"wecom": "WeCom", "dingtalk": "DingTalk", "feishu": "Feishu", "github": "GitHub",
          "weibo": "Weibo"}  # fmt: skip
WHO = {"wecom": ("group:wecom:3", "张三"), "dingtalk": ("dingtalk:dtUnion0123456789", "张三"),
       "feishu": ("feishu:on_0123456789", "张三"), "github": ("group:github:acme", "Zhang San"),
       "weibo": ("weibo:5551234567", "张三的微博")}  # fmt: skip


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[PresetServer, WeChatServer]]:
    with PresetServer() as presets, WeChatServer(apps=[QR]) as wechat:
        yield presets, wechat


@pytest.fixture(scope="module")
def roles_file(workspace):
    return workspace.root / "secrets" / "roles.yaml"


@pytest.fixture(scope="module")
def service(workspace, providers, roles_file) -> Iterator[Service]:
    presets, wechat = providers
    config: dict[str, dict] = {
        "wx": {"dialect": "wechat", "label": "WeChat", "client_id": QR.appid,
               "client_secret_env": "DASH_QR_SECRET", "api_base": wechat.url,
               "open_base": wechat.url, "embedded": True, "qr_style": "white",
               "qr_stylesheet": f"{wechat.url}/qr.css"},
    }  # fmt: skip
    for name, bases in BASES.items():
        config[name] = {"preset": name, "client_id": CLIENT_ID,
                        "client_secret_env": "DASH_PRESET_SECRET",
                        **{base: presets.url for base in bases}}  # fmt: skip
    config["wecom"]["agent_id"] = AGENT_ID
    secrets = workspace.root / "secrets"
    settings = {
        "SIGNIN_PROVIDERS": json.dumps(config),
        "SIGNIN_ROLES_FILE": roles_file,
        "SIGNIN_SESSIONS_FILE": secrets / "sessions.db",
        "SIGNIN_SECRET_FILE": secrets / "session.key",
        "SIGNIN_START_RATE": 100,
        "LOG_LEVEL": "DEBUG",
    }
    args = [a for name, value in settings.items() for a in ("-s", f"{name}={value}")]
    with Service(workspace, *args, env=ENV) as svc:
        yield svc


def give_roles(roles_file, *entries: tuple[str, str]) -> None:
    roles_file.parent.mkdir(parents=True, exist_ok=True)
    people = [{"id": ident, "role": role} for ident, role in entries]
    roles_file.write_text(yaml.safe_dump({"people": people}), encoding="utf-8")


@pytest.fixture
def page(browser, service, providers):
    """A fresh page; script errors, CSP violations and requests to anything but the service and
    the loopback providers fail the test."""
    allowed = (service.url + "/", "data:", *(f"{p.url}/" for p in providers))
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    watch_csp(page, problems)
    page.on("request", lambda r: None if r.url.startswith(allowed) else problems.append(r.url))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not problems, problems


@pytest.mark.parametrize("preset", list(BASES))
def test_a_preset_sign_in_lands_with_the_role_of_the_roles_file(page, service, roles_file, preset):
    ident, name = WHO[preset]
    give_roles(roles_file, (ident, "editor"))
    page.goto(service.url + "/#/rules/sample_books")
    expect(page).to_have_url(re.compile(r"#/signin\?next="))
    page.get_by_role("link", name=f"Sign in with {LABELS[preset]}").click()
    page.get_by_role("button", name="允许 Allow").click()  # allowed at the provider
    expect(page).to_have_url(re.compile(r"#/rules/sample_books$"))
    expect(page.locator("#person-name")).to_have_text(name)
    expect(page.locator("#person-role")).to_have_text("editor")


def test_the_embedded_wechat_qr_code_signs_in(page, service, providers, roles_file):
    presets, wechat = providers
    give_roles(roles_file, (f"wechat:{wechat.wechat.unionid('wang')}", "admin"))
    request = urllib.request.Request(service.url + "/")
    with urllib.request.urlopen(request, timeout=10) as answer:
        policy = answer.headers["content-security-policy"]
    assert f"frame-src {wechat.url}" in policy and presets.url not in policy
    page.goto(service.url + "/")
    frame = page.locator("#signin-qr-wx iframe")
    expect(frame).to_have_count(1)
    expect(page.locator('#signin-buttons a[data-provider="wx"]')).to_have_count(0)
    url = frame.get_attribute("src") or ""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert url.startswith(f"{wechat.url}/connect/qrconnect?appid={QR.appid}&scope=snsapi_login&")
    assert query["redirect_uri"] == f"{service.url}/api/auth/wx/callback"
    assert re.fullmatch(r"[0-9a-f]{32}", query["state"])
    assert (query["login_type"], query["self_redirect"]) == ("jssdk", "default")
    assert (query["style"], query["href"]) == ("white", f"{wechat.url}/qr.css")
    # the person scans and confirms on the phone: WeChat sends the page on
    page.frame_locator("#signin-qr-wx iframe").get_by_role("link", name="允许 Allow").click()
    expect(page.locator("#person-name")).to_have_text("小王")
    expect(page.locator("#person-role")).to_have_text("admin")
    assert wechat.wechat.state["frames"][-1]["state"] == query["state"]
    # the policy's frame-src still lets in the rule picker's srcdoc frame (no fetch)
    loaded = page.evaluate(
        """() => new Promise((done) => {
            const frame = Object.assign(document.createElement("iframe"),
                                        {srcdoc: "<p id=x>srcdoc</p>", sandbox: "allow-same-origin"});
            frame.onload = () => done(frame.contentDocument.getElementById("x")?.textContent);
            document.body.append(frame);
        })"""
    )
    assert loaded == "srcdoc"
    # the log has no secret or token of any provider
    secrets = {SECRET, QR.secret, *presets.providers.tokens, *wechat.wechat.access}
    secrets |= set(wechat.wechat.codes) | set(presets.providers.codes)
    log = (service.workspace.root / "serve.log").read_text(encoding="utf-8")
    assert "signed in with wx as admin" in log
    assert [s for s in secrets if s in log or s in page.content()] == []


def test_a_providers_error_code_is_one_line_on_the_sign_in_page(page, service, providers):
    presets, _ = providers
    presets.providers.allowed = False  # an unaudited Weibo app, used by someone not its tester
    try:
        page.goto(service.url + "/")
        page.get_by_role("link", name="Sign in with Weibo").click()
        page.get_by_role("button", name="允许 Allow").click()
        error = page.locator("#signin-error")
        expect(error).to_have_attribute("data-reason", "not_allowed")
        expect(error).to_contain_text("Weibo does not let this service's app sign you in")
        expect(error).to_contain_text("(error 21321)")
        expect(page.locator("#signin-link")).to_be_visible()  # not signed in
    finally:
        presets.providers.allowed = True
    log = (service.workspace.root / "serve.log").read_text(encoding="utf-8")
    assert log.count("sign-in refused: not_allowed (error 21321)") == 1
    assert "Traceback" not in log
