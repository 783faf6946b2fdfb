"""The middlewares in-process: tokens only to the provider's hosts and put on last (after the
redirect middleware, the cookies, the proxy and the cache), off the request and the response on
the way back, out of a redirect's Location, of requests to other hosts and of answers' bodies;
secrets redacted from every log line (DEBUG included), and the Scrapy internal it relies on
(``Request._set_url``) pinned."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list
from scrapy.utils.test import get_crawler

from crawler.oauth.answers import OAuthAnswerMiddleware
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
    assert mw.process_response(request, response) is response
    assert b"Authorization" not in request.headers
    assert mw.stats.get_value("oauth/requests/other_host") == 1
    assert mw.stats.get_value("oauth/requests/signed") == 1


def test_a_query_token_is_off_the_request_and_the_response_on_the_way_back(tmp_path, monkeypatch):
    mw = middleware(tmp_path, monkeypatch, token_in="query")
    original = "https://api.example.test/items?q=a%20b&page=2"
    request = Request(original)
    done(mw.process_request(request))
    assert (
        request.url
        == f"https://api.example.test/items?q=a+b&page=2&access_token={TOKEN.access_token}"
    )
    response = TextResponse(request.url, body=b'{"items": []}', request=request)
    back = mw.process_response(request, response)
    assert back.url == request.url == original  # exactly as requested: the item's _url
    failed = Request("https://api.example.test/items?page=3")
    done(mw.process_request(failed))
    mw.process_exception(failed, ConnectionError("reset"))
    assert failed.url == "https://api.example.test/items?page=3"


def test_the_token_goes_on_last_and_comes_off_first():
    """process_request runs in ascending order and process_response in descending order: at
    950 the token middleware is the last to see a request before the download and the first
    to see its answer, so no other middleware (the redirect middleware above all) ever sees a
    request carrying the token, and a redirected request goes out through it again."""
    settings = Settings(project_settings())
    order = build_component_list(settings.getwithbase("DOWNLOADER_MIDDLEWARES"))
    names = [c if isinstance(c, str) else f"{c.__module__}.{c.__name__}" for c in order]
    token = names.index("crawler.oauth.middleware.OAuthMiddleware")
    assert token == len(names) - 1, names[token:]
    for other in ("redirect.RedirectMiddleware", "httpcache.HttpCacheMiddleware",
                  "cookies.CookiesMiddleware", "httpproxy.HttpProxyMiddleware"):  # fmt: skip
        assert names.index(f"scrapy.downloadermiddlewares.{other}") < token
    answers = names.index("crawler.oauth.answers.OAuthAnswerMiddleware")
    compression = names.index(
        "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"
    )
    bans = names.index("crawler.antiban.ban_middleware.BanMiddleware")
    assert bans < answers < compression  # bodies decompressed; an expired token is no ban


@pytest.mark.parametrize("token_in", ["query", "header"])
def test_a_location_echoing_the_token_loses_it_before_the_redirect_middleware_sees_it(
    tmp_path, monkeypatch, token_in
):
    mw = middleware(tmp_path, monkeypatch, token_in=token_in)
    request = Request("https://api.example.test/moved?page=1")
    done(mw.process_request(request))
    echo = f"https://elsewhere.test/items?page=1&access_token={TOKEN.access_token}&x=%2F"
    response = Response(request.url, status=302, headers={"Location": echo}, request=request)
    back = mw.process_response(request, response)
    assert back.headers["Location"] == b"https://elsewhere.test/items?page=1&x=%2F"
    assert request.url == "https://api.example.test/moved?page=1"
    assert b"Authorization" not in request.headers
    assert mw.stats.get_value("oauth/redirects/scrubbed") == 1


def test_a_location_with_the_token_in_its_path_is_not_followed(tmp_path, monkeypatch, caplog):
    mw = middleware(tmp_path, monkeypatch)
    request = Request("https://api.example.test/moved")
    done(mw.process_request(request))
    echo = f"https://elsewhere.test/t/{TOKEN.access_token}/items"
    for _ in range(2):
        response = Response(request.url, status=302, headers={"Location": echo}, request=request)
        assert "Location" not in mw.process_response(request, response).headers
    assert mw.stats.get_value("oauth/redirects/refused") == 2
    said = [r for r in caplog.records if "not followed" in r.getMessage()]
    assert len(said) == 1 and TOKEN.access_token not in said[0].getMessage()  # logged once


def test_a_request_to_another_host_loses_a_token_it_carries(tmp_path, monkeypatch):
    mw = middleware(tmp_path, monkeypatch, token_in="query")
    mw.learn(TOKEN)
    in_query = Request(f"https://elsewhere.test/p?page=2&echo={TOKEN.access_token}")
    done(mw.process_request(in_query))
    assert in_query.url == "https://elsewhere.test/p?page=2"
    in_header = Request("https://elsewhere.test/h", headers={"Authorization": TOKEN.access_token})
    done(mw.process_request(in_header))
    assert b"Authorization" not in in_header.headers
    assert mw.stats.get_value("oauth/requests/token_removed") == 2
    in_path = Request(f"https://elsewhere.test/{TOKEN.access_token}/p")
    with pytest.raises(IgnoreRequest):
        done(mw.process_request(in_path))
    assert mw.stats.get_value("oauth/requests/refused") == 1
    untouched = Request("https://elsewhere.test/p?access_token=its-own-key")
    done(mw.process_request(untouched))  # another site's parameter of the same name stays
    assert untouched.url == "https://elsewhere.test/p?access_token=its-own-key"


def test_an_answer_echoing_the_token_in_its_body_loses_it(tmp_path, monkeypatch):
    mw = middleware(tmp_path, monkeypatch, token_in="query")
    answers = OAuthAnswerMiddleware(mw.crawler)
    answers._oauth = mw  # what the engine's lookup would find
    request = Request("https://api.example.test/items")
    done(mw.process_request(request))
    body = b'{"next": "/items?page=2&access_token=%s"}' % TOKEN.access_token.encode()
    response = mw.process_response(request, TextResponse(request.url, body=body, request=request))
    back = done(answers.process_response(request, response))
    assert back.body == b'{"next": "/items?page=2&access_token=***"}'
    assert mw.stats.get_value("oauth/responses/scrubbed") == 1
    assert done(answers.process_response(request, back)) is back  # answered once only


@pytest.mark.parametrize("token_in", ["query", "header"])
def test_an_expired_answer_is_retried_as_the_request_without_its_token(
    tmp_path, monkeypatch, token_in
):
    """The retry goes back through the scheduler (Redis, JOBDIR): all of it, as a queue would
    write it, holds no token; it is signed again on its way out, and a second expired answer
    drops it."""
    mw = middleware(tmp_path, monkeypatch, token_in=token_in)
    mw.crawler.spider = Spider.from_crawler(mw.crawler, "oauth_items")  # retries read its settings
    answers = OAuthAnswerMiddleware(mw.crawler)
    answers._oauth = mw  # what the engine's lookup would find
    newer = Token("newer-access-token-000111", expires_at=4e9)

    async def renewed(rejected: str | None) -> Token:  # the provider, as the crawl tests run it
        assert rejected == TOKEN.label
        mw.learn(newer)
        return newer

    mw.renewed = renewed  # type: ignore[method-assign]
    request = Request("https://api.example.test/items?page=2", meta={"rule_page": "items"})
    done(mw.process_request(request))
    expired = TextResponse(request.url, status=401, body=b"{}", request=request)
    retry = done(answers.process_response(request, mw.process_response(request, expired)))
    assert isinstance(retry, Request) and retry is not request
    assert retry.url == "https://api.example.test/items?page=2"
    queued = pickle.dumps(retry.to_dict())  # what a disk queue would write
    assert TOKEN.access_token.encode() not in queued and b"Authorization" not in queued
    assert retry.meta["retry_times"] == 1 and retry.meta["rule_page"] == "items"
    assert mw.stats.get_value("oauth/expired_answers") == 1
    assert mw.stats.get_value("oauth/retries/count") == 1
    done(mw.process_request(retry))
    assert TOKEN.access_token in retry.url or TOKEN.access_token.encode() in retry.headers.get(
        "Authorization", b""
    )
    again = mw.process_response(retry, TextResponse(retry.url, status=401, request=retry))
    with pytest.raises(IgnoreRequest):
        done(answers.process_response(retry, again))
    assert mw.stats.get_value("oauth/rejected_after_renewal") == 1


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
