"""Stealth: a rendered page shows the browser its context stands for, not an automated one.

Headless Chromium driven by Playwright gives itself away to a page's scripts:
``navigator.webdriver`` is true, the agent says ``HeadlessChrome`` (or, overridden by the
context, disagrees with ``navigator.userAgentData``, ``navigator.platform`` and the languages),
WebGL says SwiftShader. With ``render: {stealth: true}`` (the default) such pages render in
contexts of their own (the render middleware names them), and every page gets, before its
navigation:

- **one identity, told the same way everywhere**: the context's User-Agent (the user-agent
  middleware's profile), ``navigator.platform``, ``navigator.userAgentData`` (brands, version,
  platform, mobile: the profile's ``sec-ch-ua`` when it has one, else derived from the agent as
  Chromium does) and the client hints of the page's own requests, ``navigator.languages``, the
  page's ``Accept-Language`` and ``Intl`` locale (from the context's Accept-Language), through
  Chromium's ``Emulation.setUserAgentOverride`` on the page's DevTools session;
- **playwright-stealth's evasions** (its init script, added once to the context: ``navigator.webdriver`` false, plugins and
  mimeTypes, ``Notification.permission`` against ``permissions.query``, the ``chrome`` object,
  WebGL vendor and renderer), given the same platform and languages, a WebGL vendor and
  renderer plausible for the agent's system (:data:`WEBGL`) and our answer to
  ``permissions.query`` (:data:`PERMISSIONS`).

Not covered: the TLS and HTTP/2 fingerprint (Chromium's own: see impersonation), canvas, audio
and font fingerprints, the time zone (a proxy's country is not known here), workers (init scripts
do not run there). A Firefox or Safari agent in Chromium cannot be made coherent: stealth then
hides ``userAgentData`` and the ``chrome`` object stays; rules that render should pick Chromium
agents.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# UNMASKED_VENDOR_WEBGL and UNMASKED_RENDERER_WEBGL of common machines of each system, as
# Chrome reports them (ANGLE over the system's graphics API).
WEBGL = {
    "Windows": (
        "Google Inc. (Intel)",
        "ANGLE (Intel, Intel(R) UHD Graphics 630 (0x00003E92) Direct3D11 vs_5_0 ps_5_0, D3D11)",
    ),
    "macOS": ("Google Inc. (Apple)", "ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)"),
    "Linux": ("Google Inc. (Intel)", "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)"),
    "Chrome OS": ("Google Inc. (Intel)", "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL ES 3.2)"),
    "Android": ("Qualcomm", "Adreno (TM) 640"),
    "iOS": ("Apple Inc.", "Apple GPU"),
}  # fmt: skip
# The agent's system -> navigator.platform, and the client hints' platform.
PLATFORMS = {
    "Windows": "Win32",
    "macOS": "MacIntel",
    "Linux": "Linux x86_64",
    "Chrome OS": "Linux x86_64",
    "Android": "Linux armv81",
    "iOS": "iPhone",
}
PLATFORM_VERSIONS = {"Windows": "10.0.0", "macOS": "14.5.0", "Android": "14.0.0"}
# The key of a stealthy context's kwargs that carries its Disguise (the handler pops it).
STEALTH_CONTEXT_KEY = "render_stealth"
_BRAND = re.compile(r'"([^"]+)"\s*;\s*v="([^"]*)"')
_GREASE = [" ", "(", ":", "-", ".", "/", ")", ";", "=", "?", "_"]


@dataclass(frozen=True)
class Disguise:
    """What a stealthy page presents: plain data, built from the request's headers."""

    user_agent: str  # "" : the browser's own, without "Headless"
    languages: tuple[str, ...]
    brands_header: str = ""  # the profile's sec-ch-ua, if it sent one


def disguise_for(headers: Any) -> Disguise:
    """The disguise of a request's identity: its User-Agent, Accept-Language and sec-ch-ua
    (``headers``: Scrapy's, bytes values, or a plain mapping of str).

    >>> disguise_for({"User-Agent": "Mozilla/5.0 X", "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    Disguise(user_agent='Mozilla/5.0 X', languages=('zh-CN', 'zh', 'en'), brands_header='')
    """

    def get(name: str) -> str:
        value = headers.get(name)
        return value.decode("latin-1") if isinstance(value, bytes) else (value or "")

    return Disguise(
        get("User-Agent").replace("HeadlessChrome/", "Chrome/"),
        languages_of(get("Accept-Language")),
        get("sec-ch-ua"),
    )


def languages_of(accept_language: str) -> tuple[str, ...]:
    """``navigator.languages`` for an Accept-Language value (in its order, without weights).

    >>> languages_of("de-DE,de;q=0.9,en;q=0.5"), languages_of("")
    (('de-DE', 'de', 'en'), ('en-US', 'en'))
    """
    found = [part.split(";")[0].strip() for part in accept_language.split(",")]
    return tuple(dict.fromkeys(x for x in found if x and x != "*")) or ("en-US", "en")


def system_of(user_agent: str) -> str:
    """The system an agent names (the keys of :data:`PLATFORMS`; Linux when it names none)."""
    for pattern, name in (
        ("Windows", "Windows"),
        ("iPhone|iPad", "iOS"),
        ("Mac OS X|Macintosh", "macOS"),
        ("Android", "Android"),
        ("CrOS", "Chrome OS"),
    ):
        if re.search(pattern, user_agent):
            return name
    return "Linux"


def chromium_version(user_agent: str) -> str | None:
    found = re.search(r"(?:Chrome|Chromium|CriOS)/([\d.]+)", user_agent)
    if found is None or re.search(r"Firefox/|FxiOS/", user_agent):
        return None
    return found.group(1)


def brands(user_agent: str, header: str = "") -> list[dict[str, str]]:
    """``navigator.userAgentData.brands``: the profile's sec-ch-ua when given, else Chromium's
    greased list for the agent's version and brand.

    >>> [b["brand"] for b in brands("Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 Safari/537.36")]
    ['Google Chrome', 'Chromium', 'Not_A Brand']
    """
    parsed = [{"brand": b, "version": v} for b, v in _BRAND.findall(header)]
    if parsed:
        return parsed
    major = int((chromium_version(user_agent) or "0").split(".")[0])
    name = "Google Chrome"
    for mark, brand in (("Edg/", "Microsoft Edge"), ("OPR/", "Opera"), ("YaBrowser/", "YaBrowser")):
        if mark in user_agent:
            name = brand
    grease = (
        f"Not{_GREASE[major % 11]}A{_GREASE[(major + 1) % 11]}Brand",
        ["8", "99", "24"][major % 3],
    )
    listed = [grease, ("Chromium", str(major)), (name, str(major))]
    orders = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    return [{"brand": listed[i][0], "version": listed[i][1]} for i in orders[major % 6]]


def ua_override(disguise: Disguise, browser_agent: str = "") -> dict[str, Any]:
    """Chromium's ``Emulation.setUserAgentOverride`` for the disguise (``browser_agent``: the
    browser's own, for a context that presents no agent of its own)."""
    agent = disguise.user_agent or browser_agent.replace("HeadlessChrome/", "Chrome/")
    system = system_of(agent)
    override: dict[str, Any] = {
        "userAgent": agent,
        "acceptLanguage": ",".join(disguise.languages),
        "platform": PLATFORMS[system],
    }
    version = chromium_version(agent)
    if version is not None:
        listed = brands(agent, disguise.brands_header)
        override["userAgentMetadata"] = {
            "brands": listed,
            "fullVersionList": [
                {"brand": b["brand"], "version": _full(b["version"], version)} for b in listed
            ],
            "fullVersion": version,
            "platform": system,
            "platformVersion": PLATFORM_VERSIONS.get(system, ""),
            "architecture": "arm" if system in ("Android", "iOS") else "x86",
            "bitness": "64",
            "model": "",
            "mobile": "Mobile" in agent,
            "wow64": False,
        }
    return override


def _full(brand_version: str, version: str) -> str:
    """A brand's full version: the browser's for its own major version, else N.0.0.0."""
    if brand_version == version.split(".")[0]:
        return version
    return brand_version if "." in brand_version else f"{brand_version}.0.0.0"


# Run inside playwright-stealth's script (its ``utils``): permissions.query answers for
# notifications as Chrome does, "prompt" while Notification.permission is "default" (the
# package's own evasion answers "default", a state no browser gives).
PERMISSIONS = """
if (window.Notification && navigator.permissions) {
  utils.replaceWithProxy(Object.getPrototypeOf(navigator.permissions), "query", {
    apply(target, ctx, args) {
      const asked = (args || [])[0];
      const answer = utils.cache.Reflect.apply(target, ctx, args);
      if (!asked || asked.name !== "notifications") return answer;
      const expected = Notification.permission === "default" ? "prompt" : Notification.permission;
      return answer.then((status) => {
        if (status.state === expected) return status;
        const fixed = { state: expected, onchange: null };
        Object.setPrototypeOf(fixed, PermissionStatus.prototype);
        return fixed;
      });
    },
  });
}
"""
# Firefox and Safari have no userAgentData; Firefox's navigator.vendor is empty.
NO_UA_DATA = """
utils.replaceProperty(Object.getPrototypeOf(navigator), "userAgentData", {get: () => undefined});
"""
NO_VENDOR = """
utils.replaceProperty(Object.getPrototypeOf(navigator), "vendor", {get: () => ""});
"""


@lru_cache(maxsize=64)
def init_script(agent: str, languages: tuple[str, ...], platform: str, system: str) -> str:
    """playwright-stealth's evasions for this identity (one script, cached per identity)."""
    from playwright_stealth import Stealth  # only when a page renders with stealth

    chromium = chromium_version(agent) is not None
    extra = PERMISSIONS + ("" if chromium else NO_UA_DATA)
    if "Firefox/" in agent:
        extra += NO_VENDOR

    class Evasions(Stealth):  # the package's documented way to add scripts
        @property
        def enabled_scripts(self) -> Any:
            yield from super().enabled_scripts
            yield extra

    vendor, renderer = WEBGL.get(system, WEBGL["Linux"])
    return Evasions(
        chrome_runtime=chromium,  # on https pages, as Chrome
        chrome_app=chromium,
        chrome_csi=chromium,
        chrome_load_times=chromium,
        navigator_languages_override=languages,  # type: ignore[arg-type]
        navigator_permissions=False,  # PERMISSIONS instead
        navigator_platform_override=platform,
        navigator_user_agent=False,  # the user-agent override sets it, natively
        navigator_vendor_override="Google Inc." if chromium else "Apple Computer, Inc.",
        sec_ch_ua=False,  # the client hints come from the user-agent override
        webgl_vendor_override=vendor,
        webgl_renderer_override=renderer,
        init_scripts_only=True,
    ).script_payload


def evasions(disguise: Disguise) -> str:
    """The init script of a stealthy context (its agent: Chromium's own when it has none)."""
    agent = disguise.user_agent or "Mozilla/5.0 (X11; Linux x86_64) Chrome/0"
    system = system_of(agent)
    return init_script(agent, disguise.languages, PLATFORMS[system], system)


async def apply_stealth(session: Any, disguise: Disguise) -> None:
    """Give a page its context's identity before its navigation, on the page's DevTools
    ``session`` (the evasions are the context's: :func:`evasions`). The override lasts as long
    as the session: keep it with the page."""
    browser_agent = ""
    if not disguise.user_agent:
        browser_agent = (await session.send("Browser.getVersion"))["userAgent"]
    await session.send("Emulation.setUserAgentOverride", ua_override(disguise, browser_agent))
    with contextlib.suppress(Exception):  # a locale Chromium does not know: the agent stands
        await session.send("Emulation.setLocaleOverride", {"locale": disguise.languages[0]})
