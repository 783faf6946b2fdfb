"""``/detect/``: a page running the common headless-browser checks and writing its verdict.

Its script looks at what bot walls look at first (the automation flag, an agent saying
``HeadlessChrome``, empty plugin lists, languages, ``Notification.permission`` against
``permissions.query``, the WebGL vendor and renderer, ``navigator.userAgentData`` against the
agent, ``navigator.platform`` against the agent's system, the ``chrome`` object, a window of no
size) and writes, once every check has answered:

- ``<pre id="verdict">``: ``{"webdriver": "pass", ...}``, one entry per check (JSON);
- ``<pre id="seen">``: what the page saw (agent, languages, platform, brands, WebGL...), JSON;
- ``<p id="overall">``: ``pass`` when every check passed, else ``fail``.

Static markup, no network, no randomness: the same browser gets the same verdict.
"""

from __future__ import annotations

from aiohttp import web

CHECKS = (
    "webdriver",
    "headless_ua",
    "plugins",
    "languages",
    "permissions",
    "webgl",
    "ua_data",
    "platform",
    "chrome",
    "window_size",
)

SCRIPT = r"""
(async () => {
  const out = {}, seen = {};
  const ua = navigator.userAgent;
  const chromeVersion = (ua.match(/Chrom(?:e|ium)\/(\d+)/) || [])[1];
  const os = /Windows/.test(ua) ? "Windows" : /iPhone|iPad/.test(ua) ? "iOS"
    : /Mac OS X/.test(ua) ? "macOS" : /Android/.test(ua) ? "Android"
    : /CrOS/.test(ua) ? "Chrome OS" : /Linux/.test(ua) ? "Linux" : "";
  const platforms = {Windows: /^Win/, macOS: /^Mac/, iOS: /^(iPhone|iPad)/, Android: /^Linux/,
                     "Chrome OS": /^Linux|^CrOS/, Linux: /^Linux/};
  const verdict = (ok) => ok ? "pass" : "fail";
  seen.userAgent = ua;
  seen.languages = Array.from(navigator.languages || []);
  seen.language = navigator.language;
  seen.intl = Intl.DateTimeFormat().resolvedOptions().locale;
  seen.platform = navigator.platform;
  seen.webdriver = navigator.webdriver;
  out.webdriver = verdict(navigator.webdriver !== true);
  out.headless_ua = verdict(!/Headless/i.test(ua));
  seen.plugins = navigator.plugins.length;
  seen.mimeTypes = navigator.mimeTypes.length;
  out.plugins = verdict(navigator.plugins.length > 0 && navigator.mimeTypes.length > 0);
  out.languages = verdict(seen.languages.length > 0 && seen.languages[0] === navigator.language);
  try {
    const state = (await navigator.permissions.query({name: "notifications"})).state;
    seen.permissions = [Notification.permission, state];
    // Headless Chrome used to answer "denied" and "prompt": no browser says both.
    const expected = Notification.permission === "default" ? "prompt" : Notification.permission;
    const same = state === expected && ["granted", "denied", "prompt"].includes(state);
    out.permissions = verdict(same);
  } catch (e) { out.permissions = "fail"; seen.permissions = String(e); }
  try {
    const gl = document.createElement("canvas").getContext("webgl");
    const info = gl && gl.getExtension("WEBGL_debug_renderer_info");
    const vendor = info ? gl.getParameter(info.UNMASKED_VENDOR_WEBGL) : "";
    const renderer = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : "";
    seen.webgl = [vendor, renderer];
    out.webgl = verdict(vendor && renderer && !/SwiftShader|llvmpipe|softpipe/i.test(renderer));
  } catch (e) { out.webgl = "fail"; seen.webgl = String(e); }
  const data = navigator.userAgentData;
  if (chromeVersion) {
    const brands = data ? data.brands.map((b) => b.brand + "/" + b.version) : [];
    seen.brands = brands;
    seen.uaPlatform = data ? data.platform : null;
    seen.mobile = data ? data.mobile : null;
    out.ua_data = verdict(data && brands.length > 0
      && !brands.some((b) => /Headless/i.test(b))
      && brands.some((b) => b.endsWith("/" + chromeVersion))
      && data.platform === os && data.mobile === /Mobile/.test(ua));
  } else {
    out.ua_data = verdict(!data);  // only Chromium browsers have it
  }
  out.platform = verdict(!!os && platforms[os].test(navigator.platform));
  if (chromeVersion) {
    const c = window.chrome;
    seen.chrome = c ? Object.keys(c).sort() : null;
    // chrome.runtime is exposed to https pages only, in Chrome as in the evasions
    const runtime = location.protocol !== "https:" || (c && "runtime" in c);
    out.chrome = verdict(typeof c === "object" && c !== null && runtime
      && "loadTimes" in c && "csi" in c && "app" in c);
  } else {
    out.chrome = "pass";
  }
  seen.window = [window.outerWidth, window.outerHeight];
  out.window_size = verdict(window.outerWidth > 0 && window.outerHeight > 0);
  document.getElementById("verdict").textContent = JSON.stringify(out);
  document.getElementById("seen").textContent = JSON.stringify(seen);
  const overall = document.createElement("p");
  overall.id = "overall";
  overall.textContent = Object.values(out).every((v) => v === "pass") ? "pass" : "fail";
  document.body.appendChild(overall);
})();
"""

PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Headless detection</title></head>
<body><h1>Headless detection</h1>
<pre id="verdict"></pre>
<pre id="seen"></pre>
<script>{SCRIPT}</script>
</body></html>
"""


async def detect(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", charset="utf-8")


ROUTES: tuple[tuple[str, str, object], ...] = (("GET", "/detect/", detect),)
