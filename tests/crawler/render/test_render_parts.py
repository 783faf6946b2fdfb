"""The rendering parts that need no browser: the add-on's switch, context identities (stealthy
ones too), the headers a browser sends."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http.headers import Headers
from scrapy.settings import Settings

from crawler.render.addon import BrowserMissing, Rendering
from crawler.render.handler import browser_headers
from crawler.render.middleware import context_for
from crawler.render.stealth import STEALTH_CONTEXT_KEY, evasions
from tests.settings import project_settings


def settings(**overrides: object) -> Settings:
    return Settings(project_settings(**overrides))


def test_the_addon_does_nothing_unless_something_renders():
    s = settings()
    with pytest.raises(NotConfigured):
        Rendering().update_settings(s)
    assert "http" not in s.getdict("DOWNLOAD_HANDLERS")


def test_the_addon_installs_the_browser_handler_with_debian_chromium(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    s = settings(RENDER_ENABLED=True, RENDER_BROWSER_PATH=str(browser), RENDER_MAX_CONTEXTS=3)
    Rendering().update_settings(s)
    assert s.getdict("DOWNLOAD_HANDLERS")["https"] == "crawler.render.handler.RenderDownloadHandler"
    launch = s.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert launch["executable_path"] == str(browser) and "--no-sandbox" in launch["args"]
    assert s.getint("PLAYWRIGHT_MAX_CONTEXTS") == 3
    assert "crawler.render.middleware.RenderMiddleware" in str(s.getdict("DOWNLOADER_MIDDLEWARES"))


def test_a_missing_browser_is_one_clear_line(tmp_path):
    s = settings(RENDER_ENABLED=True, RENDER_BROWSER_PATH=str(tmp_path / "nope"))
    with pytest.raises(BrowserMissing) as info:
        Rendering().update_settings(s)
    assert "apt-get install chromium" in str(info.value) and "\n" not in str(info.value)


def request(proxy: str | None, session: int | None, agent: str) -> Request:
    meta = {"proxy": proxy, "antiban_proxy": proxy and proxy.rsplit("@", 1)[-1]}
    if session is not None:
        meta["antiban_session"] = session
    return Request("http://shop.test/p", meta=meta, headers={"User-Agent": agent})


def test_one_context_per_proxy_session_and_agent():
    name, kwargs = context_for(request("http://u:p@10.0.0.1:3128", 1, "UA/1"))
    assert kwargs["user_agent"] == "UA/1"
    assert kwargs["proxy"] == {
        "server": "http://10.0.0.1:3128",
        "bypass": "<-loopback>",
        "username": "u",
        "password": "p",
    }
    assert context_for(request("http://u:p@10.0.0.1:3128", 1, "UA/1"))[0] == name
    others = {
        context_for(request("http://u:p@10.0.0.2:3128", 1, "UA/1"))[0],
        context_for(request("http://u:p@10.0.0.1:3128", 2, "UA/1"))[0],
        context_for(request("http://u:p@10.0.0.1:3128", 1, "UA/2"))[0],
        context_for(request(None, 1, "UA/1"))[0],
    }
    assert name not in others and len(others) == 4
    assert "proxy" not in context_for(request(None, None, "UA/1"))[1]


PAGE = "http://shop.example/item/1.html"


class FakePlaywrightRequest:
    def __init__(self, navigation: bool, url: str = PAGE, method: str = "GET") -> None:
        self.navigation, self.url, self.method = navigation, url, method

    def is_navigation_request(self) -> bool:
        return self.navigation

    async def all_headers(self) -> dict[str, str]:
        headers = {"user-agent": "HeadlessChrome/1", "accept": "*/*"}
        if self.method == "POST":
            headers["content-type"] = "application/x-www-form-urlencoded"
        return headers


def sent_headers(playwright_request: FakePlaywrightRequest) -> dict[str, str]:
    headers = Headers({"User-Agent": "UA/1", "Proxy-Authorization": "Basic dTpw", "Cookie": "a=1"})
    data = {"headers": headers, "url": PAGE, "method": "GET", "body": b"", "encoding": "utf-8"}
    sent = asyncio.run(
        browser_headers(
            browser_type_name="chromium",
            playwright_request=playwright_request,
            scrapy_request_data=data,
        )
    )
    return {k.lower(): v for k, v in sent.items()}


@pytest.mark.parametrize("navigation", [True, False])
def test_the_browser_sends_our_agent_and_never_the_proxy_credentials(navigation):
    sent = sent_headers(FakePlaywrightRequest(navigation))
    assert sent["user-agent"] == "UA/1"
    assert "proxy-authorization" not in sent
    assert ("cookie" in sent) is navigation  # subresources carry the context's cookies


def test_a_form_the_page_posts_keeps_the_browsers_headers_with_our_agent():
    """Scrapy's headers are the first navigation's only: a form posted by the page (a slider
    captcha's) needs its own Content-Type, or the site reads no form."""
    sent = sent_headers(FakePlaywrightRequest(True, PAGE.replace("item", "verify"), "POST"))
    assert sent["content-type"] == "application/x-www-form-urlencoded"
    assert sent["user-agent"] == "UA/1" and "proxy-authorization" not in sent


def test_stealthy_pages_get_a_context_of_their_own_carrying_its_disguise():
    plain, kwargs = context_for(request(None, 1, "UA/1"))
    stealthy, stealth_kwargs = context_for(request(None, 1, "UA/1"), stealth=True)
    assert plain != stealthy and STEALTH_CONTEXT_KEY not in kwargs
    disguise = stealth_kwargs[STEALTH_CONTEXT_KEY]
    assert disguise.user_agent == "UA/1"
    assert context_for(request(None, 1, "UA/1"), stealth=True)[0] == stealthy
    # no agent of its own: Chromium's, on Linux, with the Chrome evasions
    script = evasions(context_for(request(None, 1, ""), stealth=True)[1][STEALTH_CONTEXT_KEY])
    assert '"navigator_platform": "Linux x86_64"' in script and "chrome.csi" in script
