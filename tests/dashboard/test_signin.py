"""Signing in to the dashboard in a real headless Chromium against a real ``scrapy serve`` and the
two loopback OAuth servers: a person signs in with WeChat's QR-code login, inside WeChat (the
snsapi_userinfo confirm page) and with OpenID Connect, and lands on the dashboard with the role
the roles file gives; a forged state is refused on the sign-in page, in the person's language; a
viewer sees no save button and the API refuses the save anyway; signing out ends the session.
The service logs at DEBUG; no secret or token is in its log or on any page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from playwright.sync_api import expect

from tests.dashboard.browser import VIEWPORT, watch_csp
from tests.dashboard.service import Service
from tests.oauth_servers.standard import Client, StandardServer
from tests.oauth_servers.wechat import App, WeChatServer

QR = App("wx0123456789abcdef", "wechat-web-app-secret-0123456789")
MP = App("wx00112233445566ff", "wechat-mp-app-secret-9876543210")
OIDC = Client("dashboard", "oidc-client-secret-0123456789")  # any 127.0.0.1 callback
ENV = {
    "DASH_QR_SECRET": QR.secret,
    "DASH_MP_SECRET": MP.secret,
    "DASH_OIDC_SECRET": OIDC.client_secret,
}
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701(0x28003239) NetType/WIFI"
)


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[WeChatServer, StandardServer]]:
    with WeChatServer(apps=[QR, MP]) as wechat, StandardServer(clients=[OIDC]) as standard:
        yield wechat, standard


@pytest.fixture(scope="module")
def roles_file(workspace):
    return workspace.root / "secrets" / "roles.yaml"


@pytest.fixture(scope="module")
def service(workspace, providers, roles_file) -> Iterator[Service]:
    wechat, standard = providers
    wx = {"dialect": "wechat", "api_base": wechat.url, "open_base": wechat.url}
    config = {
        "wx": {**wx, "label": "WeChat", "client_id": QR.appid, "client_secret_env": "DASH_QR_SECRET"},
        "wxmp": {**wx, "label": "WeChat", "authorize_page": "oauth2", "scope": "snsapi_userinfo",
                 "client_id": MP.appid, "client_secret_env": "DASH_MP_SECRET"},
        "sso": {"issuer": standard.url, "label": "Company SSO", "client_id": OIDC.client_id,
                "client_secret_env": "DASH_OIDC_SECRET"},
    }  # fmt: skip
    secrets = workspace.root / "secrets"
    settings = {
        "SIGNIN_PROVIDERS": json.dumps(config),
        "SIGNIN_ROLES_FILE": roles_file,
        "SIGNIN_SESSIONS_FILE": secrets / "sessions.db",
        "SIGNIN_SECRET_FILE": secrets / "session.key",
        "LOG_LEVEL": "DEBUG",  # the most the log can say: still no secret
    }
    args = [a for name, value in settings.items() for a in ("-s", f"{name}={value}")]
    with Service(workspace, *args, env=ENV) as svc:
        yield svc


def give_roles(roles_file, *entries: tuple[str, str]) -> None:
    roles_file.parent.mkdir(parents=True, exist_ok=True)
    people = [{"id": ident, "role": role} for ident, role in entries]
    roles_file.write_text(yaml.safe_dump({"people": people}), encoding="utf-8")


@pytest.fixture
def open_page(browser, service, providers):
    """``open_page(locale=..., user_agent=...)``: a fresh page; script errors and requests to
    anything but the service and the two providers fail the test."""
    allowed = (service.url + "/", "data:", *(f"{p.url}/" for p in providers))
    contexts, problems = [], []

    def make(locale: str = "en-US", user_agent: str | None = None):
        options = {"viewport": VIEWPORT, "locale": locale}
        if user_agent:
            options["user_agent"] = user_agent
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        watch_csp(page, problems)
        page.on("request", lambda r: None if r.url.startswith(allowed) else problems.append(r.url))
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


def test_wechat_qr_code_login_lands_on_the_dashboard_as_editor(
    open_page, service, providers, roles_file
):
    wechat, _ = providers
    unionid = wechat.wechat.unionid("wang")
    give_roles(roles_file, (f"wechat:{unionid}", "editor"))
    page = open_page()
    page.goto(service.url + "/#/rules/sample_books")
    expect(page).to_have_url(re.compile(r"#/signin\?next="))
    expect(page.locator("#signin-buttons a")).to_have_count(2)  # QR and SSO; not in-WeChat
    page.get_by_role("link", name="Sign in with WeChat (scan a QR code)").click()
    expect(page).to_have_url(re.compile(r"/connect/qrconnect\?appid=wx0123456789abcdef&"))
    assert page.url.endswith("#wechat_redirect")
    page.get_by_role("button", name="允许 Allow").click()  # scanned and confirmed on the phone
    expect(page).to_have_url(re.compile(r"#/rules/sample_books$"))  # back where they were going
    expect(page.locator("#person-name")).to_have_text("小王")
    expect(page.locator("#person-role")).to_have_text("editor")
    expect(page.locator("#save")).to_be_visible()
    assert wechat.wechat.state["exchanges"] >= 1


def test_inside_wechat_a_viewer_confirms_and_cannot_save_a_rule(
    open_page, service, providers, roles_file, workspace
):
    wechat, _ = providers
    give_roles(roles_file, (f"wechat:{wechat.wechat.unionid('wang')}", "viewer"))
    page = open_page(user_agent=WECHAT_UA)
    page.goto(service.url + "/")
    buttons = page.locator("#signin-buttons a")
    expect(buttons).to_have_count(2)  # in WeChat: its own authorization and SSO; no QR code
    expect(buttons.first).to_have_attribute("data-provider", "wxmp")
    buttons.first.click()
    expect(page).to_have_url(re.compile(r"/connect/oauth2/authorize\?appid=wx00112233445566ff&"))
    expect(page.get_by_role("heading")).to_contain_text("Allow access to your public profile")
    page.get_by_role("button", name="允许 Allow").click()
    expect(page.locator("#person-role")).to_have_text("viewer")
    expect(page.locator("#rules-table")).to_be_visible()  # a viewer reads
    expect(page.get_by_role("button", name="Run now")).to_have_count(0)
    page.goto(service.url + "/#/rules/sample_books")
    expect(page.locator("#read-only")).to_be_visible()
    expect(page.locator("#save")).to_have_count(0)
    expect(page.locator("#run-now")).to_have_count(0)
    # the API refuses a save from this session anyway, CSRF token and all
    path = workspace.rules / "sample_books.yaml"
    before = path.read_text(encoding="utf-8")
    status = page.evaluate(
        """async (yaml) => {
            const csrf = document.cookie.match(/crawler_csrf=([^;]+)/)[1];
            const answer = await fetch("api/rules/sample_books", {method: "PUT",
                headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                body: JSON.stringify({yaml})});
            return [answer.status, (await answer.json()).detail];
        }""",
        before + "\n# changed by a viewer\n",
    )
    assert status[0] == 403 and "needs the editor role" in status[1]
    assert path.read_text(encoding="utf-8") == before


def test_openid_connect_sign_in_as_admin_then_sign_out(open_page, service, providers, roles_file):
    _, standard = providers
    give_roles(roles_file, ("group:sso:admins", "admin"))
    page = open_page()
    page.goto(service.url + "/")
    page.get_by_role("link", name="Sign in with Company SSO").click()
    expect(page).to_have_url(re.compile(r"/authorize\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    page.get_by_label("Person").select_option("alice")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#person-name")).to_have_text("Alice")
    expect(page.locator("#person-role")).to_have_text("admin")
    expect(page.locator("#rules-table")).to_be_visible()
    page.locator("#signout").click()
    expect(page).to_have_url(re.compile(r"#/signin$"))
    expect(page.locator("#signin-buttons")).to_be_visible()
    status = page.evaluate("fetch('api/rules').then((answer) => answer.status)")
    assert status == 401
    assert standard.server.state["codes_exchanged"] >= 1


def test_a_forged_state_is_refused_in_the_persons_language(
    open_page, service, providers, roles_file
):
    wechat, _ = providers
    give_roles(roles_file, (f"wechat:{wechat.wechat.unionid('wang')}", "admin"))
    page = open_page(locale="zh-CN")
    page.goto(service.url + "/")
    callbacks: list[str] = []

    def confirm(route):  # WeChat's answer is held: the browser never reaches the callback
        answer = route.fetch(max_redirects=0)
        callbacks.append(answer.headers["location"])
        route.fulfill(status=200, content_type="text/html", body="<p>held</p>")

    page.route(re.compile(r".*/connect/confirm$"), confirm)
    page.locator('#signin-buttons a[data-provider="wx"]').click()
    exchanges = wechat.wechat.state["exchanges"]
    page.get_by_role("button", name="允许 Allow").click()
    expect(page.locator("p")).to_have_text("held")
    assert len(callbacks) == 1 and "/api/auth/wx/callback?code=" in callbacks[0]
    code = parse_qs(urlsplit(callbacks[0]).query)["code"][0]
    page.goto(f"{service.url}/api/auth/wx/callback?code={code}&state=0123456789abcdef0123")
    error = page.locator("#signin-error")
    expect(error).to_have_attribute("data-reason", "state")
    expect(error).to_contain_text("已被拒绝")
    expect(page.locator("#signin-link")).to_be_visible()  # not signed in
    assert wechat.wechat.state["exchanges"] == exchanges  # the code was never exchanged


def test_no_secret_or_token_on_a_page_or_in_the_log(open_page, service, providers, roles_file):
    wechat, standard = providers
    give_roles(roles_file, ("group:sso:admins", "admin"))
    page = open_page()
    page.goto(service.url + "/")
    page.get_by_role("link", name="Sign in with Company SSO").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#person-role")).to_have_text("admin")
    seen = [page.content(), json.dumps(page.context.cookies())]
    for path in ("/#/", "/#/rules/sample_books", "/#/items"):
        page.goto(service.url + path)
        page.wait_for_load_state("networkidle")
        seen.append(page.content())
    secrets = {QR.secret, MP.secret, OIDC.client_secret}
    secrets |= (
        set(wechat.wechat.access) | {r for r in wechat.wechat.refresh} | set(wechat.wechat.codes)
    )
    for token in standard.server.tokens.values():
        secrets |= {token.access_token, token.refresh_token or ""}
    secrets.discard("")
    assert len(secrets) > 6
    assert [s for s in secrets if any(s in text for text in seen)] == []
    log = (service.workspace.root / "serve.log").read_text(encoding="utf-8")
    assert "signed in with sso as admin" in log and "DEBUG" in log
    assert [s for s in secrets if s in log] == []
