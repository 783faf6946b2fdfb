"""crawler.antiban.ban_policy: what is a ban, and what is a proxy failure."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DownloadConnectionRefusedError, DownloadTimeoutError
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet import error

from crawler.antiban.ban_policy import BanPolicy
from proxies.model import Outcome
from tests.settings import project_settings

URL = "https://shop.example/item/1"


def html(body: bytes = b"<h1>ok</h1>", status: int = 200, request: Request | None = None, **kw):
    request = request or Request(URL)
    return HtmlResponse(kw.pop("url", URL), status=status, body=body, request=request, **kw)


def reason(policy: BanPolicy, response: Response) -> str | None:
    verdict = policy.response_verdict(response.request, response)
    return verdict and verdict.reason


@pytest.fixture
def policy() -> BanPolicy:
    settings = project_settings(BAN_EXTRA_MARKERS=["are you a robot"], BAN_EXTRA_STATUSES=[418])
    return build_from_crawler(BanPolicy, get_crawler(settings_dict=settings))


def test_statuses(policy):
    for status in (403, 429, 503, 418):
        assert reason(policy, html(status=status)) == f"status_{status}"
    assert reason(policy, html(status=404)) is None
    assert reason(policy, html(status=500)) is None  # Scrapy's RetryMiddleware's business


def test_markers_default_and_rule(policy):
    assert reason(policy, html(b'<div id="px-captcha"></div>')) == "marker"
    assert reason(policy, html(b"<title>Just a moment...</title>")) == "marker"
    # A captcha widget in an ordinary form is not a block page.
    assert reason(policy, html(b'<form><div class="g-recaptcha"></div></form>')) is None
    assert reason(policy, html(b"<p>Are you a ROBOT?</p>")) == "marker"
    assert reason(policy, html(b"<p>robots.txt is fine</p>")) is None


def test_bad_marker_regex_is_an_error():
    with pytest.raises(ValueError, match="BAN_MARKERS"):
        BanPolicy(markers=["(unclosed"])


def test_login_redirects(policy):
    raw = html(status=302, headers={"Location": "/account/login?next=/item/1"})
    assert reason(policy, raw) == "login_redirect"
    followed = Request("https://shop.example/login?next=/item/1", meta={"redirect_urls": [URL]})
    assert reason(policy, html(request=followed, url=followed.url)) == "login_redirect"
    # Asking for the login page itself is not a ban; an ordinary redirect is not one either.
    login = Request("https://shop.example/login")
    assert reason(policy, html(request=login, url=login.url)) is None
    assert reason(policy, html(status=301, headers={"Location": "/item/1/"})) is None


def test_empty_and_truncated_bodies(policy):
    assert reason(policy, html(b"  \n")) == "empty_body"
    assert reason(policy, html(b"", request=Request(URL, method="HEAD"))) is None
    assert reason(policy, html(flags=["dataloss"])) == "truncated"
    assert reason(BanPolicy(empty_body=False), html(b"")) is None


def test_proxy_auth_refusal_is_a_proxy_failure():
    via_proxy = Request(URL, meta={"proxy": "http://127.0.0.1:3128"})
    verdict = BanPolicy().response_verdict(via_proxy, html(status=407, request=via_proxy))
    assert (verdict.reason, verdict.outcome) == ("proxy_auth", Outcome.FAILURE)
    tinyproxy_style = BanPolicy(proxy_auth_statuses=[401, 407])
    assert (
        tinyproxy_style.response_verdict(via_proxy, html(status=401, request=via_proxy)).reason
        == "proxy_auth"
    )
    assert tinyproxy_style.response_verdict(Request(URL), html(status=401)) is None


def test_exceptions():
    policy = BanPolicy()
    proxied = Request(URL, meta={"proxy": "http://127.0.0.1:3128"})
    direct = Request(URL)
    v = policy.exception_verdict(proxied, DownloadConnectionRefusedError("refused"))
    assert (v.reason, v.outcome) == ("connection_refused", Outcome.FAILURE)
    assert policy.exception_verdict(proxied, DownloadTimeoutError("slow")).reason == "timeout"
    assert policy.exception_verdict(proxied, error.TimeoutError()).reason == "timeout"
    # Direct: a reset is the site slamming the door; a timeout is just a timeout.
    v = policy.exception_verdict(direct, error.ConnectionLost())
    assert (v.reason, v.outcome) == ("connection_lost", Outcome.BAN)
    assert policy.exception_verdict(direct, DownloadTimeoutError("slow")) is None
    assert policy.exception_verdict(direct, ValueError("bug")) is None
