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
# render: auto: after this many static pages of a type in a row missed their content, the type
# renders first (one page in its `recheck` still tried static: crawler.render.auto)
RENDER_AUTO_SWITCH_AFTER = 3
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
CAPTCHA_SOLVER = ""  # "" (off) or a name in CAPTCHA_SOLVERS: ocr, manual, service
CAPTCHA_SOLVERS = {
    "ocr": "crawler.captcha.ocr.OcrSolver",  # local models: text, slider and click captchas
    "manual": "crawler.captcha.manual.ManualSolver",
    "service": "crawler.captcha.service.ServiceSolver",
}
# A solver per kind of captcha (text, slider, click), e.g. {"click": "service"}; a kind not
# named goes to CAPTCHA_SOLVER.
CAPTCHA_KIND_SOLVERS: dict = {}
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
# Slider captchas (crawler.captcha.kinds): a background with a gap and a piece, in one form. The
# gap's x offset (pixels) goes in CAPTCHA_SLIDER_INPUT, the drag as JSON [[x, t_ms], ...] in
# CAPTCHA_SLIDER_TRACK_INPUT ("" : none is sent).
_ATTRS = "translate(concat(@id, ' ', @class, ' ', @alt), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
CAPTCHA_SLIDER_BACKGROUND_XPATH = (
    f"//form//img[contains({_ATTRS}, 'bg') or contains({_ATTRS}, 'background')]/@src"
)
CAPTCHA_SLIDER_PIECE_XPATH = (
    f"//form//img[contains({_ATTRS}, 'piece') or contains({_ATTRS}, 'slice')"
    f" or contains({_ATTRS}, 'jigsaw')]/@src"
)
CAPTCHA_SLIDER_INPUT = "x"
CAPTCHA_SLIDER_TRACK_INPUT = "track"
# In a rendered page (crawler.captcha.drag): the handle the mouse drags (a CSS selector).
CAPTCHA_SLIDER_HANDLE_SELECTOR = (
    "[class*=slider][class*=handle], [class*=slider][class*=btn], [class*=slider][class*=button]"
)
# Click-the-characters captchas: a captcha image (CAPTCHA_IMAGE_XPATH) and a prompt naming the
# characters to click in order (the XPath runs from the image's form: "//" searches the whole
# page, ".//" the form only); the points go in CAPTCHA_CLICK_INPUT as x1,y1;x2,y2.
CAPTCHA_CLICK_PROMPT_XPATH = (
    "//*[contains(concat(@class, ' ', @id), 'prompt') or contains(concat(@class, ' ', @id), 'tip')"
    " or contains(concat(@class, ' ', @id), 'instruction')]"
)
CAPTCHA_CLICK_INPUT = "clicks"
# A solving service (CAPTCHA_SOLVER "service"): the createTask / getTaskResult JSON API of
# anti-captcha, 2captcha, YesCaptcha and others, at CAPTCHA_SERVICE_URL. The key: this setting
# (a secret: give it as a reference in the deployment file), else the environment variable
# CAPTCHA_SERVICE_API_KEY_ENV names. Never logged, never in stats.
CAPTCHA_SERVICE_URL = ""
CAPTCHA_SERVICE_API_KEY = ""
CAPTCHA_SERVICE_API_KEY_ENV = "CAPTCHA_SERVICE_API_KEY"
# The service's task type per kind: ImageToTextTask answers {"text"}, CoordinatesTask
# {"coordinates": [{"x", "y"}, ...]} (a slider's: the gap's left edge).
CAPTCHA_SERVICE_TASK_TYPES = {
    "text": "ImageToTextTask",
    "click": "CoordinatesTask",
    "slider": "CoordinatesTask",
}
CAPTCHA_SERVICE_TIMEOUT = 120.0  # seconds for an answer, polling included; then no_answer
CAPTCHA_SERVICE_POLL = 3.0  # seconds between getTaskResult calls
CAPTCHA_SERVICE_REQUEST_TIMEOUT = 20.0  # seconds for one call
CAPTCHA_SERVICE_MAX_BYTES = 65536  # a reply larger than this is refused (too_large)
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
    "RENDER_AUTO_SWITCH_AFTER",
    "CAPTCHA_SOLVER",
    "CAPTCHA_MARKERS",
    "CAPTCHA_IMAGE_XPATH",
    "CAPTCHA_INPUT",
    "CAPTCHA_KIND_SOLVERS",
    "CAPTCHA_SLIDER_BACKGROUND_XPATH",
    "CAPTCHA_SLIDER_PIECE_XPATH",
    "CAPTCHA_SLIDER_INPUT",
    "CAPTCHA_SLIDER_TRACK_INPUT",
    "CAPTCHA_SLIDER_HANDLE_SELECTOR",
    "CAPTCHA_CLICK_PROMPT_XPATH",
    "CAPTCHA_CLICK_INPUT",
    "CAPTCHA_RETRY_TIMES",
    "CAPTCHA_MAX_FAILURES",
    "CAPTCHA_BACKOFF",
    "CAPTCHA_BACKOFF_MAX",
    "CAPTCHA_MANUAL_TIMEOUT",
}
choices = {"CAPTCHA_SOLVER": ("", "ocr", "manual", "service")}
minimums = {
    "RENDER_MAX_WAIT": 0.1,
    "RENDER_SETTLE": 0.05,
    "RENDER_MAX_CONTEXTS": 1,
    "RENDER_MAX_PAGES_PER_CONTEXT": 1,
    "RENDER_CONTEXT_MAX_PAGES": 1,
    "RENDER_AUTO_SWITCH_AFTER": 1,
    "RENDER_SCREENSHOT_MAX_HEIGHT": 1,
    "RENDER_SCREENSHOT_MAX_BYTES": 1024,
    "RENDER_MEMORY_MAX_MB": 0,
    "CAPTCHA_RETRY_TIMES": 0,
    "CAPTCHA_MAX_FAILURES": 1,
    "CAPTCHA_BACKOFF": 0,
    "CAPTCHA_BACKOFF_MAX": 0,
    "CAPTCHA_MANUAL_TIMEOUT": 0,
    "CAPTCHA_MANUAL_POLL": 0.01,
    "CAPTCHA_SERVICE_TIMEOUT": 0.1,
    "CAPTCHA_SERVICE_POLL": 0.01,
    "CAPTCHA_SERVICE_REQUEST_TIMEOUT": 0.1,
    "CAPTCHA_SERVICE_MAX_BYTES": 1024,
}
maximums = {
    "RENDER_MAX_WAIT": 300,
    "RENDER_MAX_CONTEXTS": 64,
    "RENDER_MAX_PAGES_PER_CONTEXT": 64,
    "RENDER_SCREENSHOT_MAX_HEIGHT": 100000,
    "CAPTCHA_RETRY_TIMES": 20,
}
