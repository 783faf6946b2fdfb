"""Rendering in a headless browser (crawler/render: scrapy-playwright with Debian's Chromium) and
captcha solving (crawler/captcha). docs/rendering.md documents both."""

from vocab.datadir import data_dir

# --- rendering (crawler.render) ---
# On when a rule renders something (its render: section sets it) or with -s RENDER_ENABLED=1.
RENDER_ENABLED = False
RENDER_BROWSER_PATH = "/usr/bin/chromium"  # Debian's chromium; a browser is never downloaded
RENDER_BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RENDER_MAX_WAIT = 30.0  # seconds for a whole page (load, waits, actions); a rule's max_wait wins
RENDER_SETTLE = 0.3  # seconds without a pending request that mean "nothing new loads"
RENDER_MAX_CONTEXTS = 8  # browser contexts per crawl (one per proxy and session)
RENDER_MAX_PAGES_PER_CONTEXT = 4  # pages open at once in one context
RENDER_CONTEXT_MAX_PAGES = 200  # a context is closed (idle) and made anew after this many pages
# Where pages of `screenshot: true` are saved ("" keeps none; preview saves its own).
RENDER_SCREENSHOT_DIR = str(data_dir / "screenshots")
# A screenshot is at most this many pixels tall (and 2048 wide): a taller page is cut. One larger
# than RENDER_SCREENSHOT_MAX_BYTES (PNG) is not kept (render/screenshots/too_large).
RENDER_SCREENSHOT_MAX_HEIGHT = 10000
RENDER_SCREENSHOT_MAX_BYTES = 16 * 1024 * 1024
# The browser's processes (driver, Chromium and its renderers) of one crawl hold at most this
# many MiB: over it, the contexts with pages open are closed and those pages fail
# (render/errors/memory). 0 turns the bound off.
RENDER_MEMORY_MAX_MB = 3072

# --- captchas (crawler.captcha), handed over by the ban middleware ---
CAPTCHA_SOLVER = ""  # "" (off) or a name in CAPTCHA_SOLVERS: ocr, manual
CAPTCHA_SOLVERS = {
    "ocr": "crawler.captcha.ocr.OcrSolver",
    "manual": "crawler.captcha.manual.ManualSolver",
}
# Regexes (case-insensitive) of captcha images: on a page shaped like a block they make the
# verdict "captcha" (the solver's), elsewhere they are only a suspect (crawler.antiban.block_pages).
CAPTCHA_MARKERS = [r"<img\b[^>]*(captcha|验证码|seccode|checkcode|verify_?code)"]
# Where the image is: an XPath giving its URL (or a data: URI); the answer goes in CAPTCHA_INPUT
# ("" : the form's first text input), and the form is submitted as a browser would.
CAPTCHA_IMAGE_XPATH = (
    "//form//img[contains(translate(concat(@id, ' ', @class, ' ', @src, ' ', @alt), "
    "'CAPTCH', 'captch'), 'captcha')]/@src"
)
CAPTCHA_INPUT = ""
# Solving attempts per request; then the captcha is a ban (antiban/bans/captcha).
CAPTCHA_RETRY_TIMES = 5
CAPTCHA_MAX_FAILURES = 5  # failures in a row before the solver backs off
# Seconds of the first back-off, doubled each time, up to CAPTCHA_BACKOFF_MAX.
CAPTCHA_BACKOFF = 30.0
CAPTCHA_BACKOFF_MAX = 600.0
CAPTCHA_MANUAL_DIR = str(
    data_dir / "captchas"
)  # pending captchas of the manual solver (scrapy captcha)
CAPTCHA_MANUAL_TIMEOUT = 300.0  # seconds to wait for an answer; then the captcha is failed
CAPTCHA_MANUAL_POLL = 1.0

rule_safe = {
    "RENDER_MAX_WAIT",
    "RENDER_SETTLE",
    "RENDER_MAX_CONTEXTS",
    "RENDER_MAX_PAGES_PER_CONTEXT",
    "RENDER_CONTEXT_MAX_PAGES",
    "CAPTCHA_SOLVER",
    "CAPTCHA_MARKERS",
    "CAPTCHA_IMAGE_XPATH",
    "CAPTCHA_INPUT",
    "CAPTCHA_RETRY_TIMES",
    "CAPTCHA_MAX_FAILURES",
    "CAPTCHA_BACKOFF",
    "CAPTCHA_BACKOFF_MAX",
    "CAPTCHA_MANUAL_TIMEOUT",
}
choices = {"CAPTCHA_SOLVER": ("", "ocr", "manual")}
minimums = {
    "RENDER_MAX_WAIT": 0.1,
    "RENDER_SETTLE": 0.05,
    "RENDER_MAX_CONTEXTS": 1,
    "RENDER_MAX_PAGES_PER_CONTEXT": 1,
    "RENDER_CONTEXT_MAX_PAGES": 1,
    "RENDER_SCREENSHOT_MAX_HEIGHT": 1,
    "RENDER_SCREENSHOT_MAX_BYTES": 1024,
    "RENDER_MEMORY_MAX_MB": 0,
    "CAPTCHA_RETRY_TIMES": 0,
    "CAPTCHA_MAX_FAILURES": 1,
    "CAPTCHA_BACKOFF": 0,
    "CAPTCHA_BACKOFF_MAX": 0,
    "CAPTCHA_MANUAL_TIMEOUT": 0,
    "CAPTCHA_MANUAL_POLL": 0.01,
}
maximums = {
    "RENDER_MAX_WAIT": 300,
    "RENDER_MAX_CONTEXTS": 64,
    "RENDER_MAX_PAGES_PER_CONTEXT": 64,
    "RENDER_SCREENSHOT_MAX_HEIGHT": 100000,
    "CAPTCHA_RETRY_TIMES": 20,
}
