"""The middleware in-process: tokens only to the provider's hosts, off the request and the
response on the way back, secrets redacted from every log line (DEBUG included), and the Scrapy
internal it relies on (``Request._set_url``) pinned."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawler.oauth.middleware import OAuthMiddleware, StartProblem
from crawler.oauth.source_tokens import Token
from crawler.oauth.token_stores import SqliteTokenStore
from tests.settings import project_settings

from .support import CLIENT_SECRET, ENVIRON, standard_spec

TOKEN = Token("access-token-value-123456", expires_at=4e9, refresh_token="refresh-token-value-987")


def middleware(tmp_path, monkeypatch, **spec: Any) -> OAuthMiddleware:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    store_uri = f"sqlite:///{tmp_path / 'oauth.db'}"
    with SqliteTokenStore(tmp_path / "oauth.db").exclusive("api/default") as tx:
        tx.put(TOKEN)
    settings = project_settings(
        OAUTH_PROVIDER="api",
        OAUTH_PROVIDERS={
            "api": standard_spec("https://auth.example.test", hosts=["api.example.test"], **spec)
        },
        OAUTH_TOKEN_STORE_URI=store_uri,
    )
    mw = OAuthMiddleware.from_crawler(get_crawler(settings_dict=settings))
    assert isinstance(mw, OAuthMiddleware)
    assert mw.keeper.token() == TOKEN  # from the store: nothing is asked of the provider
    return mw


def done(coroutine: Any) -> Any:
    """Run a coroutine that must not wait (the token is in memory)."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the middleware waited for something")


def test_scrapy_keeps_the_private_url_setter_the_middleware_uses():
    request = Request("https://a.test/x")
    request._set_url("https://a.test/y?access_token=t")
    assert request.url == "https://a.test/y?access_token=t"


def test_a_bearer_token_goes_only_to_the_providers_hosts_and_leaves_again(tmp_path, monkeypatch):
    mw = middleware(tmp_path, monkeypatch)
    elsewhere = Request("https://evil.example.org/collect")
    done(mw.process_request(elsewhere))
    assert b"Authorization" not in elsewhere.headers
    request = Request("https://api.example.test/items")
    done(mw.process_request(request))
    assert request.headers["Authorization"] == f"Bearer {TOKEN.access_token}".encode()
    response = TextResponse(request.url, body=b"{}", request=request)
    assert done(mw.process_response(request, response)) is response
    assert b"Authorization" not in request.headers


def test_a_query_token_is_off_the_request_and_the_response_on_the_way_back(tmp_path, monkeypatch):
    mw = middleware(tmp_path, monkeypatch, token_in="query")
    request = Request("https://api.example.test/items?page=2")
    done(mw.process_request(request))
    assert request.url == f"https://api.example.test/items?page=2&access_token={TOKEN.access_token}"
    response = TextResponse(request.url, body=b'{"items": []}', request=request)
    back = done(mw.process_response(request, response))
    assert back.url == request.url == "https://api.example.test/items?page=2"
    failed = Request("https://api.example.test/items?page=3")
    done(mw.process_request(failed))
    mw.process_exception(failed, ConnectionError("reset"))
    assert failed.url == "https://api.example.test/items?page=3"


def test_every_secret_is_redacted_from_debug_logs(tmp_path, monkeypatch, caplog):
    mw = middleware(tmp_path, monkeypatch, token_in="query")
    caplog.set_level(logging.DEBUG)
    handler = logging.StreamHandler()
    lines: list[str] = []
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        mw.spider_opened(None)
        request = Request("https://api.example.test/items")
        done(mw.process_request(request))
        logging.getLogger("scrapy.core.engine").debug("Crawled (200) <GET %s>", request.url)
        logging.getLogger("urllib3").debug(
            "GET /token?secret=%s&refresh_token=%s", CLIENT_SECRET, TOKEN.refresh_token
        )
    finally:
        mw.engine_stopped()
        root.removeHandler(handler)
    text = "\n".join(lines)
    assert "access_token=***" in text and "secret=***&refresh_token=***" in text
    for secret in (CLIENT_SECRET, *TOKEN.secrets):
        assert secret not in text


def test_a_provider_that_cannot_work_closes_the_crawl_instead(tmp_path):
    settings = project_settings(OAUTH_PROVIDER="nope", OAUTH_PROVIDERS={})
    mw = OAuthMiddleware.from_crawler(get_crawler(settings_dict=settings))
    assert isinstance(mw, StartProblem) and "no provider 'nope'" in mw.problem
    with pytest.raises(Exception, match="no provider"):
        mw.process_request(Request("https://api.example.test/"))


def test_the_oauth_package_imports_no_scrapy_but_its_settings_adapter():
    import subprocess
    import sys

    from tests.crawler.crawl import ROOT

    code = (
        "import sys\n"
        "import crawler.oauth.authorize, crawler.oauth.keeper, crawler.oauth.placement\n"
        "import crawler.oauth.redis_token_store, crawler.oauth.standard\n"
        "import crawler.oauth.wechat_client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
