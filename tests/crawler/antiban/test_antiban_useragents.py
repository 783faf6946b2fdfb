"""crawler.antiban.useragents: filters, weighting, and coherent header profiles."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from crawler.antiban.useragents import UserAgentCatalog


def test_defaults_to_desktop_browsers_only():
    cat = UserAgentCatalog()
    assert {e["type"] for e in cat.entries} == {"desktop"}
    assert not any(m in e["useragent"] for e in cat.entries for m in ("Android", "iPhone"))
    assert "Apple Mail" not in {e["browser"] for e in cat.entries}


def test_sampling_follows_usage_share_not_uniform():
    cat = UserAgentCatalog()
    rng = random.Random(7)
    counts = Counter(cat.profile(rng).browser for _ in range(3000))
    per_entry = Counter(e["browser"] for e in cat.entries)
    share = {b: sum(e["percent"] for e in cat.entries if e["browser"] == b) for b in per_entry}
    total = sum(share.values())
    # Chrome dominates by share; uniform sampling over entries would give it only its entry ratio.
    assert counts["Chrome"] / 3000 == pytest.approx(share["Chrome"] / total, abs=0.05)


def test_min_version_is_per_browser():
    cat = UserAgentCatalog(browsers=["chrome", "safari"], min_version={"chrome": 130})
    chrome = [e for e in cat.entries if e["browser"] == "Chrome"]
    safari = [e for e in cat.entries if e["browser"] == "Safari"]
    assert chrome and safari  # Safari 18 is not dropped by Chrome's 130
    assert all(int(e["browser_version"].split(".")[0]) >= 130 for e in chrome)


def test_filter_matching_nothing_fails_loudly():
    with pytest.raises(ValueError, match="no user agent"):
        UserAgentCatalog(browsers=["chrome"], min_version={"chrome": 999})
    with pytest.raises(ValueError, match="unknown platform"):
        UserAgentCatalog(platforms=["fridge"])


def test_mobile_on_request():
    cat = UserAgentCatalog(platforms=["mobile"], os=["android"])
    assert {e["os"] for e in cat.entries} == {"Android"}


@pytest.mark.parametrize("browser", ["chrome", "edge", "firefox", "safari"])
def test_profiles_are_coherent(browser):
    rng = random.Random(3)
    cat = UserAgentCatalog(browsers=[browser])
    for _ in range(20):
        p = cat.profile(rng)
        h = p.request_headers("https://shop.example/", None)
        assert h["User-Agent"] == p.user_agent
        assert h["Sec-Fetch-Site"] == "none" and h["Sec-Fetch-Mode"] == "navigate"
        assert set(h["Accept-Encoding"].split(", ")) <= {"gzip", "deflate", "br", "zstd"}
        if browser in ("chrome", "edge"):
            major = re.search(r"Chrome/(\d+)", p.user_agent).group(1)
            assert f'"Chromium";v="{major}"' in h["sec-ch-ua"]
            brand = "Google Chrome" if browser == "chrome" else "Microsoft Edge"
            assert brand in h["sec-ch-ua"]
            platform = h["sec-ch-ua-platform"].strip('"')
            assert {"Windows": "Windows", "macOS": "Mac OS X", "Linux": "X11"}.get(
                platform, platform
            )
            if "Windows" in p.user_agent:
                assert platform == "Windows"
            if "Macintosh" in p.user_agent:
                assert platform == "macOS"
            assert h["sec-ch-ua-mobile"] == "?0"
        else:
            assert not any(k.lower().startswith("sec-ch-") for k in h)
        if browser == "firefox":
            assert h["Accept-Language"] == "en-US,en;q=0.5"


def test_fetch_metadata_follows_referer_and_secure_origins():
    p = UserAgentCatalog(browsers=["chrome"]).profile(random.Random(1))
    assert (
        p.request_headers("https://a.example/2", "https://a.example/1")["Sec-Fetch-Site"]
        == "same-origin"
    )
    assert (
        p.request_headers("https://a.example/2", "https://b.example/1")["Sec-Fetch-Site"]
        == "cross-site"
    )
    plain = p.request_headers("http://a.example/", None)
    assert not any(k.lower().startswith(("sec-fetch-", "sec-ch-")) for k in plain)
    assert "Sec-Fetch-Mode" in p.request_headers("http://127.0.0.1:8080/", None)
