"""Stealth in rendered pages: the sample site's ``/detect/`` page (common headless checks) passes
with ``render: {stealth: true}`` (the default) and fails without; what the page sees is the
context's identity (agent, platform, client hints, languages), through a proxy too."""

from __future__ import annotations

import json

from crawler.render.stealth import disguise_for, init_script, ua_override
from tests.crawler.antiban.support import TinyProxy, require_tinyproxy
from tests.crawler.render.support import RequestLog, render_crawl, rules_dir
from tests.dashboard.browser import require_chromium
from tests.sample_site import SampleSite
from tests.sample_site.detect import CHECKS

FIELDS = """
pages:
  detect:
    fields:
      verdict: {css: "#verdict::text", required: true}
      seen: {css: "#seen::text"}
      overall: {css: "#overall::text", required: true}
"""
ON_AND_OFF = (
    """
name: detect_both
args: {site: null}
start:
  - {url: "{site}/detect/?stealth=off", page: detect, render: {wait_for: "#overall", stealth: false}}
  - {url: "{site}/detect/?stealth=on", page: detect, render: {wait_for: "#overall"}}
"""
    + FIELDS
)
ON = (
    """
name: detect_on
args: {site: null}
start:
  - {url: "{site}/detect/", page: detect, render: {wait_for: "#overall", stealth: true}}
"""
    + FIELDS
)


def _pages(run) -> dict[str, dict]:
    assert run.returncode == 0, run.log[-3000:]
    out = {}
    for item in run.items:
        verdict, seen = json.loads(item["verdict"]), json.loads(item["seen"])
        assert set(verdict) == set(CHECKS), verdict
        out[item["_url"].rpartition("/")[2]] = {**item, "verdict": verdict, "seen": seen}
    return out


def test_stealth_passes_the_headless_checks_and_no_stealth_fails_them(tmp_path):
    require_chromium()
    with SampleSite(books=1) as site:
        rules = rules_dir(tmp_path, detect_both=ON_AND_OFF)
        # No user-agent middleware: the contexts present Chromium's own agent (HeadlessChrome).
        run = render_crawl(
            "detect_both", tmp_path, site.url,
            *("-s", f"RULES_DIR={rules}", "-s", "USER_AGENT_ROTATE=False", "-s", "USER_AGENT="),
        )  # fmt: skip
    pages = _pages(run)
    off, on = pages["?stealth=off"], pages["?stealth=on"]
    assert off["overall"] == "fail"
    assert off["verdict"]["webdriver"] == off["verdict"]["headless_ua"] == "fail"
    assert off["verdict"]["webgl"] == "fail"  # SwiftShader
    assert "HeadlessChrome" in off["seen"]["userAgent"]
    assert on["overall"] == "pass", on["verdict"]
    seen = on["seen"]
    assert "Headless" not in seen["userAgent"] and seen["webdriver"] is False
    assert seen["platform"] == "Linux x86_64" and seen["uaPlatform"] == "Linux"
    assert "SwiftShader" not in json.dumps(seen["webgl"])


def test_stealth_follows_the_profile_and_the_locale_through_a_proxy(tmp_path):
    require_chromium()
    require_tinyproxy()
    log = RequestLog()
    proxy = TinyProxy(bind="127.0.0.24", workdir=tmp_path).start()
    try:
        with SampleSite(books=1, middlewares=[log.middleware]) as site:
            rules = rules_dir(tmp_path, detect_on=ON)
            run = render_crawl(
                "detect_on", tmp_path, site.url,
                *("-s", f"RULES_DIR={rules}", "-s", f"PROXY_LIST={proxy.url}"),
                *("-s", "USER_AGENT_SEED=5", "-s", "USER_AGENT_BROWSERS=chrome"),
                *("-s", "USER_AGENT_OS=windows"),
                *("-s", "USER_AGENT_ACCEPT_LANGUAGE=zh-CN,zh;q=0.9,en;q=0.8"),
            )  # fmt: skip
    finally:
        proxy.stop()
    [page] = _pages(run).values()
    assert page["overall"] == "pass", page["verdict"]
    seen = page["seen"]
    assert {s.remote for s in log.seen} == {"127.0.0.24"}  # through the proxy
    [agent] = {s.agent for s in log.seen}
    assert seen["userAgent"] == agent and "Windows" in agent  # the profile's, to the page too
    assert seen["platform"] == "Win32" and seen["uaPlatform"] == "Windows"
    assert seen["languages"] == ["zh-CN", "zh", "en"] and seen["language"] == "zh-CN"
    assert seen["intl"] == "zh-CN"
    major = agent.split("Chrome/")[1].split(".")[0]
    assert f"Google Chrome/{major}" in seen["brands"]
    assert seen["webgl"][0] == "Google Inc. (Intel)" and "Direct3D11" in seen["webgl"][1]


def test_the_disguise_follows_the_agent_without_a_browser():
    edge = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
    )
    disguise = disguise_for({"User-Agent": edge, "Accept-Language": "fr-FR,fr;q=0.9"})
    override = ua_override(disguise)
    assert override["platform"] == "MacIntel" and override["acceptLanguage"] == "fr-FR,fr"
    meta = override["userAgentMetadata"]
    assert meta["platform"] == "macOS" and meta["mobile"] is False
    assert {"brand": "Microsoft Edge", "version": "131"} in meta["brands"]
    assert {"brand": "Microsoft Edge", "version": "131.0.0.0"} in meta["fullVersionList"]
    # the profile's own sec-ch-ua wins: the page's brands are the ones the server was sent
    header = '"Chromium";v="135", "Not-A.Brand";v="8", "Google Chrome";v="135"'
    android = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/135.0.0.0 Mobile Safari/537.36"
    sent = ua_override(disguise_for({"User-Agent": android, "sec-ch-ua": header}))
    assert [b["brand"] for b in sent["userAgentMetadata"]["brands"]] == [
        "Chromium", "Not-A.Brand", "Google Chrome",
    ]  # fmt: skip
    assert sent["userAgentMetadata"]["mobile"] is True and sent["platform"] == "Linux armv81"
    # Firefox has no userAgentData; Chromium's own agent loses "Headless"
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:135.0) Gecko/20100101 Firefox/135.0"
    assert "userAgentMetadata" not in ua_override(disguise_for({"User-Agent": firefox}))
    own = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0 Safari/537.36"
    assert ua_override(disguise_for({}), own)["userAgent"].endswith(
        "Chrome/156.0.0.0 Safari/537.36"
    )
    script = init_script(firefox, ("en-US", "en"), "Win32", "Windows")
    assert "userAgentData" in script and '"navigator_platform": "Win32"' in script
    assert 'get: () => ""' in script  # Firefox's empty navigator.vendor
