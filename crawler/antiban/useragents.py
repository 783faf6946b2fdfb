"""User agents from fake-useragent's offline data, and the coherent headers that go with each.

Why not ``FakeUserAgent().random``: it samples uniformly over the data, which is mostly mobile
agents; its ``min_version`` is one number compared across browsers (Safari 18 < Chrome 120);
and a filter that matches nothing silently returns one fixed fallback agent. Here the filters
are per browser, the platform defaults to desktop, sampling is weighted by the data's own
``percent`` (real usage share) and an empty filter raises ValueError at construction.

>>> cat = UserAgentCatalog(browsers=["chrome"], os=["windows"], min_version={"chrome": 120})
>>> profile = cat.profile(random.Random(1))
>>> profile.browser, "Windows" in profile.user_agent, profile.chromium
('Chrome', True, True)
>>> UserAgentCatalog(browsers=["safari"], os=["windows"])
Traceback (most recent call last):
ValueError: no user agent in fake-useragent's data matches browsers=['safari'], os=['windows'], platforms=['desktop'] (agents for these platforms: Chrome, Edge, Firefox, Opera, Safari, ...)
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from crawler.rules.sections.antiban.schema import PLATFORMS

# Short names a rule may use -> fake-useragent's browser names.
BROWSER_ALIASES = {
    "chrome": ["Chrome", "Chrome Mobile"],
    "edge": ["Edge", "Edge Mobile"],
    "firefox": ["Firefox", "Firefox Mobile", "Firefox iOS"],
    "safari": ["Safari", "Mobile Safari"],
    "opera": ["Opera", "Opera Mobile"],
    "samsung": ["Samsung Internet"],
    "yandex": ["Yandex Browser"],
}
OS_ALIASES = {
    "windows": ["Windows"],
    "macos": ["Mac OS X"],
    "mac": ["Mac OS X"],
    "linux": ["Linux", "Ubuntu"],
    "chromeos": ["Chrome OS"],
    "android": ["Android"],
    "ios": ["iOS"],
}
# Browsers built on Chromium send sec-ch-ua client hints; WebKit and Gecko ones do not.
CHROMIUM_BROWSERS = {
    "Chrome",
    "Chrome Mobile",
    "Edge",
    "Edge Mobile",
    "Opera",
    "Opera Mobile",
    "Samsung Internet",
    "Yandex Browser",
}
BRAND_NAMES = {
    "Chrome": "Google Chrome",
    "Chrome Mobile": "Google Chrome",
    "Edge": "Microsoft Edge",
    "Edge Mobile": "Microsoft Edge",
    "Opera": "Opera",
    "Opera Mobile": "Opera",
    "Samsung Internet": "Samsung Internet",
    "Yandex Browser": "YaBrowser",
}
# In-app agents and mail clients: not what a site expects from a visitor, unless asked for by name.
NOT_BROWSERS = {"Apple Mail", "Google", "Twitter", "Facebook", "Instagram", "LINE"}
CH_PLATFORMS = {
    "Windows": "Windows",
    "Mac OS X": "macOS",
    "Linux": "Linux",
    "Ubuntu": "Linux",
    "Chrome OS": "Chrome OS",
    "Android": "Android",
}


# The fields of fake-useragent's entries used here; the rest is not kept (a crawl holds this).
FIELDS = ("useragent", "percent", "type", "browser", "browser_version", "os")


@lru_cache(maxsize=1)
def _data() -> tuple[dict[str, Any], ...]:
    """fake-useragent's data, read a line at a time (its own ``load()`` holds the file, its
    lines and every field at once: 14 MB at the peak of a crawl's memory for 2.6 MB of data)."""
    from fake_useragent.utils import find_browser_json_path

    merged: dict[str, dict[str, Any]] = {}
    with find_browser_json_path().open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            if not entry.get("browser") or not entry.get("useragent"):
                continue
            # The data lists some agents several times (one line per device); shares add up.
            seen = merged.get(entry["useragent"])
            if seen:
                seen["percent"] += entry["percent"]
                continue
            merged[entry["useragent"]] = {
                name: sys.intern(value) if isinstance(value, str) and name != "useragent" else value
                for name in FIELDS
                if (value := entry.get(name)) is not None
            }
    return tuple(merged.values())


def _expand(names: Iterable[str] | None, aliases: Mapping[str, list[str]]) -> set[str] | None:
    if not names:
        return None
    out: set[str] = set()
    for name in names:
        out.update(aliases.get(name.lower().replace(" ", ""), [name]))
    return out


def known_browsers() -> list[str]:
    return sorted({e["browser"] for e in _data()})


def known_os() -> list[str]:
    return sorted({e["os"] for e in _data() if e.get("os")})


def check_user_agent_filters(ua: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What this data says of a rule's ``user_agent:`` filters, as (path under ``user_agent``,
    message): unknown browser and OS names, else filters no agent matches (``""``: the whole
    section). The rule compiler gets it through its compile context (crawler/spider/project.py).

    >>> [(path, message.split(" (")[0]) for path, message in check_user_agent_filters(
    ...     {"browsers": ["netscape"], "os": ["windows"]})]
    [('browsers[0]', "unknown browser 'netscape'")]
    >>> check_user_agent_filters({"os": ["windows"], "platforms": ["desktop"]})
    []
    """
    problems: list[tuple[str, str]] = []
    browsers, systems = known_browsers(), known_os()
    for i, name in enumerate(ua.get("browsers") or []):
        if name.lower().replace(" ", "") not in BROWSER_ALIASES and name not in browsers:
            message = f"unknown browser {name!r} (use {', '.join(BROWSER_ALIASES)})"
            problems.append((f"browsers[{i}]", message))
    for i, name in enumerate(ua.get("os") or []):
        if name.lower().replace(" ", "") not in OS_ALIASES and name not in systems:
            problems.append((f"os[{i}]", f"unknown OS {name!r} (use {', '.join(OS_ALIASES)})"))
    for name in ua.get("min_version") or {}:
        if name.lower().replace(" ", "") not in BROWSER_ALIASES and name not in browsers:
            problems.append((f"min_version.{name}", f"unknown browser {name!r}"))
    if problems or ua.get("fixed") or not ua.get("rotate", True):
        return problems
    try:
        UserAgentCatalog(
            browsers=ua.get("browsers"),
            os=ua.get("os"),
            platforms=ua.get("platforms") or ["desktop"],
            min_version=ua.get("min_version"),
        )
    except ValueError as exc:
        problems.append(("", str(exc)))
    return problems


def _major(version: str) -> int:
    m = re.match(r"\d+", version or "")
    return int(m.group()) if m else 0


@dataclass(frozen=True)
class HeaderProfile:
    """One browser identity: the agent and the headers that browser sends with a navigation."""

    user_agent: str
    browser: str
    os: str
    platform: str  # desktop, mobile, tablet
    version: str
    headers: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def chromium(self) -> bool:
        return self.browser in CHROMIUM_BROWSERS

    def request_headers(self, url: str, referer: str | None = None) -> dict[str, str]:
        """Headers for a top-level navigation to ``url`` (Sec-Fetch-Site follows the referer)."""
        headers = dict(self.headers)
        if not _potentially_trustworthy(url):
            # Browsers send fetch metadata and client hints only to secure origins.
            for name in list(headers):
                if name.lower().startswith(("sec-fetch-", "sec-ch-")):
                    del headers[name]
            return headers
        if "Sec-Fetch-Site" in headers:
            headers["Sec-Fetch-Site"] = _fetch_site(url, referer)
        return headers


def _potentially_trustworthy(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" or host in {"localhost", "::1"} or host.startswith("127.")


def _fetch_site(url: str, referer: str | None) -> str:
    if not referer:
        return "none"
    a, b = urlsplit(url), urlsplit(referer)
    if (a.scheme, a.netloc) == (b.scheme, b.netloc):
        return "same-origin"
    if (a.hostname or "").split(".")[-2:] == (b.hostname or "").split(".")[-2:]:
        return "same-site"
    return "cross-site"


def _greased_brands(major: int, brand: str, brand_version: int) -> str:
    """Chromium's sec-ch-ua brand list: a GREASE brand whose shape depends on the major version."""
    chars = [" ", "(", ":", "-", ".", "/", ")", ";", "=", "?", "_"]
    grease = (
        f"Not{chars[major % 11]}A{chars[(major + 1) % 11]}Brand",
        ["8", "99", "24"][major % 3],
    )
    brands = [grease, ("Chromium", str(major)), (brand, str(brand_version))]
    orders = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    ordered = [brands[i] for i in orders[major % 6]]
    return ", ".join(f'"{name}";v="{version}"' for name, version in ordered)


def build_headers(entry: Mapping[str, Any], accept_language: str) -> dict[str, str]:
    """The navigation headers of the browser ``entry`` describes (a fake-useragent data line)."""
    browser = entry["browser"]
    ua = entry["useragent"]
    mobile = entry.get("type") != "desktop"
    # Imported here: the rule compiler checks user-agent filters with this module's catalog and
    # must not import Scrapy.
    from scrapy.downloadermiddlewares.httpcompression import ACCEPTED_ENCODINGS

    encodings = [e.decode() for e in ACCEPTED_ENCODINGS]  # only what Scrapy can decode
    headers: dict[str, str] = {"User-Agent": ua}
    if browser in CHROMIUM_BROWSERS:
        chrome_major = _major((re.search(r"Chrome/([\d.]+)", ua) or [None, ""])[1]) or _major(
            entry.get("browser_version", "")
        )
        headers["sec-ch-ua"] = _greased_brands(
            chrome_major,
            BRAND_NAMES.get(browser, browser),
            _major(entry.get("browser_version", "")),
        )
        headers["sec-ch-ua-mobile"] = "?1" if mobile else "?0"
        headers["sec-ch-ua-platform"] = f'"{CH_PLATFORMS.get(entry.get("os") or "", "Unknown")}"'
        headers["Upgrade-Insecure-Requests"] = "1"
        headers["Accept"] = (
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
            "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
        )
        headers["Accept-Language"] = accept_language
        headers["Accept-Encoding"] = ", ".join(encodings)
    elif browser.startswith("Firefox"):
        headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        headers["Accept-Language"] = re.sub(r"q=0\.9\b", "q=0.5", accept_language)
        headers["Accept-Encoding"] = ", ".join(encodings)
        headers["Upgrade-Insecure-Requests"] = "1"
    else:  # Safari and WebKit-based iOS browsers
        headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        headers["Accept-Language"] = accept_language
        headers["Accept-Encoding"] = ", ".join(e for e in encodings if e != "zstd")
    headers["Sec-Fetch-Site"] = "none"
    headers["Sec-Fetch-Mode"] = "navigate"
    headers["Sec-Fetch-User"] = "?1"
    headers["Sec-Fetch-Dest"] = "document"
    return headers


class UserAgentCatalog:
    """The agents matching the filters, sampled by usage share."""

    def __init__(
        self,
        *,
        browsers: Iterable[str] | None = None,
        os: Iterable[str] | None = None,
        platforms: Iterable[str] | None = ("desktop",),
        min_version: Mapping[str, float] | None = None,
        min_percent: float = 0.0,
        accept_language: str = "en-US,en;q=0.9",
    ) -> None:
        self.filters = {
            "browsers": list(browsers or []),
            "os": list(os or []),
            "platforms": list(platforms or ["desktop"]),
        }
        for p in self.filters["platforms"]:
            if p not in PLATFORMS:
                raise ValueError(f"unknown platform {p!r} (expected one of {', '.join(PLATFORMS)})")
        self.accept_language = accept_language
        want_browsers = _expand(browsers, BROWSER_ALIASES)
        want_os = _expand(os, OS_ALIASES)
        platforms_set = set(self.filters["platforms"])
        minimums: dict[str, float] = {}
        for name, version in (min_version or {}).items():
            for real in _expand([name], BROWSER_ALIASES) or ():
                minimums[real] = float(version)
        on_platform = [
            e
            for e in _data()
            if e.get("type") in platforms_set
            and (want_browsers or e["browser"] not in NOT_BROWSERS)
        ]
        self.entries = [
            e
            for e in on_platform
            if (
                e["browser"] in want_browsers if want_browsers else e["browser"] not in NOT_BROWSERS
            )
            and (want_os is None or e.get("os") in want_os)
            and _major(e.get("browser_version", "")) >= minimums.get(e["browser"], 0)
            and e["percent"] >= min_percent
        ]
        if not self.entries:
            available = sorted({e["browser"] for e in on_platform} - NOT_BROWSERS)
            shown = ", ".join(available[:5]) + (", ..." if len(available) > 5 else "")
            described = ", ".join(f"{k}={v}" for k, v in self.filters.items() if v)
            if min_version:
                described += f", min_version={dict(min_version)}"
            raise ValueError(
                f"no user agent in fake-useragent's data matches {described} "
                f"(agents for these platforms: {shown})"
            )
        self.weights = [e["percent"] for e in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def profile(self, rng: random.Random) -> HeaderProfile:
        entry = rng.choices(self.entries, weights=self.weights, k=1)[0]
        return HeaderProfile(
            user_agent=entry["useragent"],
            browser=entry["browser"],
            os=entry.get("os") or "",
            platform=entry.get("type") or "",
            version=entry.get("browser_version") or "",
            headers=build_headers(entry, self.accept_language),
        )
