"""The commands around sign-in, run as a person runs them: ``scrapy auth people`` adds the first
admin and lists who signed in, ``scrapy auth tokens`` creates, lists and revokes API tokens
(hashed at rest, scoped to a role, shown once); ``scrapy serve`` with sign-in configured may
listen on a public address, makes cookies Secure behind a proxy that says HTTPS, and refuses a
provider whose secret is not in the environment in one line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request

import yaml

from crawler.service.api_tokens import TokenFile, token_hash
from crawler.service.signin.roles import Identity
from crawler.service.signin.signin_sessions import SessionStore
from tests.crawler.crawl import ROOT, scrapy
from tests.net import free_port, wait_for_port

PROVIDERS = {"wx": {"dialect": "wechat", "client_id": "wx0123456789abcdef",
                    "client_secret_env": "TEST_SIGNIN_WECHAT_SECRET",
                    "api_base": "http://127.0.0.1:9", "open_base": "http://127.0.0.1:9"}}  # fmt: skip


def test_people_add_the_first_admin_list_who_signed_in_and_remove(tmp_path):
    roles, sessions = tmp_path / "roles.yaml", tmp_path / "sessions.db"
    settings = ["-s", f"SIGNIN_ROLES_FILE={roles}", "-s", f"SIGNIN_SESSIONS_FILE={sessions}"]
    empty = scrapy("auth", "people", *settings)
    assert empty.returncode == 0 and "add the first admin" in empty.stdout
    added = scrapy("auth", "people", "add", "wechat:oUnion1", "--role", "admin", "--name", "Wang",
                   *settings)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert yaml.safe_load(roles.read_text())["people"] == [
        {"id": "wechat:oUnion1", "role": "admin", "name": "Wang"}
    ]
    assert stat.S_IMODE(os.stat(roles).st_mode) == 0o600
    store = SessionStore(sessions)  # someone signed in meanwhile, with no role yet
    store.seen(Identity("std", "standard", "sub:std:7", ("sub:std:7", "group:std:ops"), "Li"))
    store.close()
    listing = scrapy("auth", "people", "list", "--json", *settings)
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert rows[0] == {"id": "wechat:oUnion1", "role": "admin", "name": "Wang",
                       "in_roles_file": True}  # fmt: skip
    assert rows[1]["id"] == "sub:std:7" and rows[1]["role"] is None and rows[1]["name"] == "Li"
    bad = scrapy("auth", "people", "add", "someone", "--role", "admin", *settings)
    assert bad.returncode == 2 and "is not wechat:<unionid|openid>" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert scrapy("auth", "people", "remove", "wechat:oUnion1", *settings).returncode == 0
    assert yaml.safe_load(roles.read_text())["people"] == []


def test_api_tokens_are_scoped_hashed_and_shown_once(tmp_path):
    path = tmp_path / "tokens.json"
    setting = ["-s", f"SERVICE_TOKENS_FILE={path}"]
    made = scrapy("auth", "tokens", "create", "ci", "--role", "viewer", *setting)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert "only time it is shown" in made.stderr and token not in made.stderr
    assert token not in path.read_text() and token_hash(token) in path.read_text()
    assert TokenFile(path).verify(token).role == "viewer"
    listing = scrapy("auth", "tokens", "list", *setting).stdout
    assert "viewer" in listing and "ci" in listing and token not in listing
    bare = scrapy("auth", "tokens", *setting)
    assert bare.returncode == 2 and "scrapy auth source-tokens" in bare.stderr
    assert scrapy("auth", "tokens", "revoke", "ci", *setting).returncode == 0
    assert TokenFile(path).verify(token) is None


def serve(tmp_path, host: str, port: int, env: dict[str, str], *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "scrapy.cmdline", "serve", "--host", host, "--port", str(port),
           "-s", f"STORE_URI=sqlite:///{tmp_path / 's.db'}", "-s", f"SCHEDULE_DIR={tmp_path}/sch",
           "-s", f"SERVICE_DATA_DIR={tmp_path}/svc", "-s", f"SERVICE_TOKENS_FILE={tmp_path}/t.json",
           "-s", f"SIGNIN_PROVIDERS={json.dumps(PROVIDERS)}",
           "-s", f"SIGNIN_ROLES_FILE={tmp_path}/roles.yaml",
           "-s", f"SIGNIN_SESSIONS_FILE={tmp_path}/sessions.db",
           "-s", f"SIGNIN_SECRET_FILE={tmp_path}/session.key", *extra]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CRAWLER_SERVICE_TOKENS": "", **env},
    )  # fmt: skip


def test_with_sign_in_the_service_may_listen_publicly_and_trusts_its_proxy(tmp_path):
    port = free_port()
    proc = serve(tmp_path, "0.0.0.0", port, {"TEST_SIGNIN_WECHAT_SECRET": "s3cret-app-secret"})
    try:
        wait_for_port(port, timeout=60, process=proc)
        out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        assert [line for line in out.splitlines() if f"0.0.0.0:{port} " in line]
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/api/auth/session", timeout=10) as answer:
            assert json.load(answer)["providers"][0]["kind"] == "wechat_qr"
        try:
            urllib.request.urlopen(f"{base}/api/rules", timeout=10)
            raise AssertionError("reads need a viewer")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        # HTTPS ends at a reverse proxy on this machine, which says so
        opener = urllib.request.build_opener(NoRedirect)
        for proto, secure in (("https", True), ("http", False)):
            request = urllib.request.Request(f"{base}/api/auth/wx/login",
                                             headers={"X-Forwarded-Proto": proto})  # fmt: skip
            answer = opener.open(request, timeout=10)
            cookie = answer.headers["set-cookie"]
            assert ("; Secure" in cookie) is secure, cookie
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
            redirect = answer.headers["location"]
            assert f"redirect_uri={proto}%3A%2F%2F127.0.0.1%3A{port}%2Fapi%2Fauth%2Fwx" in redirect
            assert "s3cret-app-secret" not in redirect
        assert stat.S_IMODE(os.stat(tmp_path / "sessions.db").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(tmp_path / "session.key").st_mode) == 0o600
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "nobody has the admin role" in output and "s3cret-app-secret" not in output


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp


def test_a_sign_in_secret_missing_from_the_environment_is_one_line(tmp_path):
    proc = serve(tmp_path, "127.0.0.1", free_port(), {"TEST_SIGNIN_WECHAT_SECRET": ""})
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 2, output
    assert "TEST_SIGNIN_WECHAT_SECRET, which is not set" in output and "Traceback" not in output
