"""What the sign-in API tests share: the two loopback OAuth servers set up for sign-in (a WeChat
website app and an Official Account app bound to the same Open Platform account, a standard
client whose callback is the test client's), the data service with sign-in configured, and a
person who follows the redirects, scans or confirms, and comes back to the callback."""

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
from lxml import html

from tests.crawler.service.conftest import Service, make_service
from tests.oauth_servers.standard import Client, StandardServer
from tests.oauth_servers.wechat import App, WeChatServer

QR_APPID, QR_SECRET = "wx0123456789abcdef", "wechat-web-app-secret-0123456789"
MP_APPID, MP_SECRET = "wx00112233445566ff", "wechat-mp-app-secret-9876543210"
# an Official Account not bound to an Open Platform account: WeChat gives no unionid
SOLO_APPID, SOLO_SECRET = "wx99887766554433aa", "wechat-solo-app-secret-5555555555"
CLIENT_ID, CLIENT_SECRET = "dashboard", "oidc-client-secret-0123456789"
ENV = {"SIGNIN_QR_SECRET": QR_SECRET, "SIGNIN_MP_SECRET": MP_SECRET,
       "SIGNIN_SOLO_SECRET": SOLO_SECRET, "SIGNIN_OIDC_SECRET": CLIENT_SECRET}  # fmt: skip
SESSION_KEY = "session-key-for-tests-0123456789abcdef"
BASE = "http://testserver"
PROVIDERS = ("wx", "wxmp", "wxbase", "std", "gh")


def wechat_apps(callback_domain: str = "testserver") -> list[App]:
    return [
        App(QR_APPID, QR_SECRET, callback_domain),
        App(MP_APPID, MP_SECRET, callback_domain),
        App(SOLO_APPID, SOLO_SECRET, callback_domain, unionid_bound=False),
    ]


def standard_client(base: str = BASE) -> Client:
    return Client(CLIENT_ID, CLIENT_SECRET, [f"{base}/api/auth/{p}/callback" for p in PROVIDERS])


def providers(wechat_url: str, standard_url: str) -> dict[str, dict[str, Any]]:
    """Every dialect: WeChat QR, in-WeChat with and without the profile, OIDC by discovery,
    and a GitHub-style provider by its endpoints with its user API."""
    wx = {"dialect": "wechat", "api_base": wechat_url, "open_base": wechat_url}
    return {
        "wx": {**wx, "label": "WeChat", "client_id": QR_APPID,
               "client_secret_env": "SIGNIN_QR_SECRET"},
        "wxmp": {**wx, "label": "WeChat (in WeChat)", "authorize_page": "oauth2",
                 "scope": "snsapi_userinfo", "client_id": MP_APPID,
                 "client_secret_env": "SIGNIN_MP_SECRET", "lang": "en"},
        "wxbase": {**wx, "authorize_page": "oauth2", "scope": "snsapi_base",
                   "client_id": SOLO_APPID, "client_secret_env": "SIGNIN_SOLO_SECRET"},
        "std": {"issuer": standard_url, "label": "Company SSO", "client_id": CLIENT_ID,
                "client_secret_env": "SIGNIN_OIDC_SECRET", "scope": "openid profile email"},
        "gh": {"authorize_url": f"{standard_url}/authorize", "token_url": f"{standard_url}/token",
               "userinfo_url": f"{standard_url}/api/user", "scope": "read",
               "claims": {"subject": "id", "name": "login"}, "trust_email": True,
               "client_id": CLIENT_ID, "client_secret_env": "SIGNIN_OIDC_SECRET",
               "token_auth_method": "client_secret_post"},
    }  # fmt: skip


@dataclass
class SigninWorld:
    service: Service
    wechat: WeChatServer
    standard: StandardServer
    roles_file: Path
    log: list[str] = field(default_factory=list)  # every line logged, as a handler writes it

    @property
    def client(self) -> TestClient:
        return self.service.client

    @property
    def signin(self) -> Any:
        return self.client.app.state.signin

    def roles(self, *entries: tuple[str, str]) -> None:
        self.roles_file.write_text(
            json.dumps({"people": [{"id": i, "role": r} for i, r in entries]}), encoding="utf-8"
        )

    def secrets(self) -> set[str]:
        """Every secret and token the servers handed out or hold."""
        found = {QR_SECRET, MP_SECRET, SOLO_SECRET, CLIENT_SECRET, SESSION_KEY}
        found |= set(self.wechat.wechat.access) | set(self.wechat.wechat.refresh)
        found |= set(self.wechat.wechat.codes)
        server = self.standard.server
        for token in server.tokens.values():
            found |= {token.access_token, token.refresh_token or ""}
        return {s for s in found if s}


class LogLines(logging.Handler):
    """Every record of the service, formatted as a log file would have it (the handler's
    filters applied). The loopback providers run in this process too, on threads of their own:
    what they log is the provider's log, not ours, and is left out."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName != "oauth-server":
            self.lines.append(self.format(record))


def make_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> Iterator[SigninWorld]:
    """The servers and the service; every log line at DEBUG goes to ``world.log`` through a
    handler the service finds on the root logger when it starts (as uvicorn's and Scrapy's)."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    log: list[str] = []
    handler = LogLines(log)
    # setLevel, not a plain attribute: loggers cache whether a level is on, and setLevel clears
    # those caches (an earlier test may have asked urllib3 with the root at WARNING)
    loggers = [logging.getLogger(n) for n in ("", "urllib3", "httpx2", "authlib", "crawler")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    loggers[0].addHandler(handler)
    try:
        yield from _world(tmp_path, monkeypatch, log, settings)
    finally:
        loggers[0].removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: list[str], settings: dict[str, Any]
) -> Iterator[SigninWorld]:
    monkeypatch.setenv("SIGNIN_TEST_SESSION_KEY", SESSION_KEY)
    with (
        WeChatServer(apps=wechat_apps()) as wechat,
        StandardServer(clients=[standard_client()]) as standard,
    ):
        roles_file = tmp_path / "secrets" / "roles.yaml"
        values = {
            "SIGNIN_PROVIDERS": json.dumps(providers(wechat.url, standard.url)),
            "SIGNIN_ROLES_FILE": str(roles_file),
            "SIGNIN_SESSIONS_FILE": str(tmp_path / "secrets" / "sessions.db"),
            "SIGNIN_SECRET_ENV": "SIGNIN_TEST_SESSION_KEY",
            "SIGNIN_SECRET_FILE": str(tmp_path / "secrets" / "session.key"),
            **settings,
        }
        for service in make_service("sqlite", tmp_path, **values):
            yield SigninWorld(service, wechat, standard, roles_file, log)


# -- a person in a browser ---------------------------------------------------------------------


def location(response: Any) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return response.headers["location"]


def form_of(page: str, **choices: str) -> tuple[str, dict[str, str]]:
    """The page's first form: its action and fields, with ``choices`` set."""
    doc = html.fromstring(page)
    (form,) = doc.forms[:1]
    fields = {i.name: i.value or "" for i in form.inputs if i.name and i.get("type") == "hidden"}
    return form.action, {**fields, **choices}


def at_provider(url: str, *, confirm: bool = True, person: str = "alice") -> str:
    """The person opens the provider's page (without the #fragment, as a browser sends it) and
    confirms: the URL the provider sends the browser back to."""
    assert url.startswith("http://127.0.0.1:"), url
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    answer = requests.get(url.split("#", 1)[0], allow_redirects=False, timeout=10)
    if answer.status_code == 302:
        return answer.headers["Location"]
    assert answer.status_code == 200, answer.text[:300]
    if "/connect/" in url:  # WeChat: scan / allow
        action, data = form_of(answer.text, confirm="yes" if confirm else "no")
    else:
        action, data = form_of(answer.text, user=person, decision="approve" if confirm else "deny")
    answer = requests.post(origin + action, data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def start(client: TestClient, provider: str, next_path: str = "/") -> str:
    return location(
        client.get(f"/api/auth/{provider}/login", params={"next": next_path},
                   follow_redirects=False)
    )  # fmt: skip


def sign_in(client: TestClient, provider: str, **person: Any) -> Any:
    """The whole sign-in; the callback's answer (303 to the dashboard on success)."""
    back = at_provider(start(client, provider), **person)
    return client.get(callback_path(back), follow_redirects=False)


def code_and_state(url: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(url).query)
    return query.get("code", [""])[0], query.get("state", [""])[0]


def csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies.get("crawler_csrf") or ""}
