"""Anti-ban: user agents, proxies (the crawler's side), ban detection and retries, cookie
sessions (crawler/antiban; docs/antiban.md). The proxy pools' own settings
(PROXY_LIST, backoffs, PROXY_POOL_*) are in proxies/defaults.py."""

# --- user agents (crawler.antiban.useragent_middleware) ---
# A fixed USER_AGENT (settings, rule, -s) or USER_AGENT_FIXED wins over rotation.
USER_AGENT_FIXED = None
USER_AGENT_ROTATE = True
USER_AGENT_PLATFORMS = ["desktop"]
USER_AGENT_BROWSERS: list[str] = []  # empty: every browser of fake-useragent's data
USER_AGENT_OS: list[str] = []  # empty: every OS
USER_AGENT_MIN_VERSION: dict[str, float] = {}  # per browser, e.g. {"chrome": 120}
USER_AGENT_MIN_PERCENT = 0.0  # leave out agents rarer than this usage share
USER_AGENT_ACCEPT_LANGUAGE = "en-US,en;q=0.9"
USER_AGENT_ROTATE_ON_BAN = True
USER_AGENT_BAN_COOLDOWN = 300.0  # seconds a banned agent is not handed out again
USER_AGENT_SEED = None  # an integer: the same agents in the same order on every run (tests)

# --- proxies (crawler.antiban.proxy_middleware) ---
PROXY_ENABLED = True  # False: the proxy middleware is off (no proxies: it is off anyway)
PROXY_POOL_CLASS = "proxies.static.StaticProxyPool"
PROXY_POLICY = "random"  # random | round_robin | lru | sticky_domain | sticky_session | class path
PROXY_DIRECT = "never"  # never | fallback | until_blocked
PROXY_PAID_ONLY = False
PROXY_WAIT_MAX = 120.0  # no usable proxy for this long: the crawl stops (reason antiban_no_proxy)
PROXY_WAIT_POLL = 1.0
PROXY_DOWNLOAD_TIMEOUT = 8.0  # seconds a proxied request may take (0: DOWNLOAD_TIMEOUT): a stalled
# proxy is then noticed, benched and logged within 10 s, not after DOWNLOAD_TIMEOUT (30 s)

# --- ban detection and retry (crawler.antiban.ban_middleware, crawler.antiban.ban_policy) ---
BAN_ENABLED = True
BAN_POLICY_CLASS = "crawler.antiban.ban_policy.BanPolicy"
BAN_STATUSES = [403, 407, 429, 503]
BAN_EXTRA_STATUSES: list[int] = []
BAN_MARKERS = [  # regexes (case-insensitive) of whole-page blocks and challenges
    r"<title>\s*(Just a moment\.\.\.|Attention Required! \| Cloudflare)",
    r"cf-browser-verification|cf_chl_opt",
    r"px-captcha",
    r"/distil_r_captcha",
    r"verify (that )?you are (a )?human",
    r"unusual traffic from your computer network",
]
BAN_EXTRA_MARKERS: list[str] = []
BAN_LOGIN_URL_PATTERNS = [  # where blocked clients get redirected to (regex, case-insensitive)
    r"/(login|signin|sign-in|log-in)\b",
    r"captcha",
    r"/challenge\b",
    r"/verif(y|ication)\b",
]
BAN_EXTRA_LOGIN_URL_PATTERNS: list[str] = []
BAN_EMPTY_BODY = True
BAN_PROXY_AUTH_STATUSES = [407]  # through a proxy: its refusal of our credentials (tinyproxy: 401)
# Download errors the ban policy judges, by import path (as Scrapy's RETRY_EXCEPTIONS), with the
# reason they are counted under. Errors wrapping another (DownloadFailedError, ResponseFailed)
# are judged by what they wrap. Through a proxy each is the proxy's failure; direct, a reset or a
# lost connection counts as a ban.
BAN_EXCEPTIONS = {
    "scrapy.exceptions.DownloadConnectionRefusedError": "connection_refused",
    "twisted.internet.error.ConnectionRefusedError": "connection_refused",
    "scrapy.exceptions.DownloadTimeoutError": "timeout",
    "twisted.internet.error.TimeoutError": "timeout",
    "twisted.internet.error.TCPTimedOutError": "timeout",
    "builtins.TimeoutError": "timeout",
    "scrapy.exceptions.ResponseDataLossError": "truncated",
    "scrapy.core.downloader.handlers.http11.TunnelError": "tunnel_error",
    "builtins.ConnectionResetError": "connection_reset",
    "twisted.internet.error.ConnectionLost": "connection_lost",
    "twisted.internet.error.ConnectionDone": "connection_lost",
    "twisted.web.client.ResponseNeverReceived": "connection_lost",
    "twisted.web.client.ResponseFailed": "connection_lost",
    "scrapy.exceptions.DownloadFailedError": "connection_lost",
    "twisted.internet.error.ConnectError": "connect_error",
    "builtins.ConnectionError": "connect_error",
}
BAN_RETRY_TIMES = 5  # separate from Scrapy's RETRY_TIMES
BAN_RETRY_DELAY = 2.0  # direct requests: wait this, doubled per retry, unless Retry-After says
BAN_RETRY_AFTER_MAX = 60.0
BAN_RETRY_PRIORITY_ADJUST = 0

# --- cookie sessions (crawler.antiban.cookie_session_middleware) ---
# Off unless SESSION_COUNT, SESSION_COOKIES_FILES or SESSION_LOGIN_URL is set.
SESSION_ENABLED = True
SESSION_COUNT = 0
SESSION_ROTATE = "round_robin"  # round_robin | random; PROXY_POLICY=sticky_session pins proxies
SESSION_COOKIES_FILES: list[str] = []  # JSON or cookies.txt, one session per file
SESSION_LOGIN_URL = None
SESSION_LOGIN_FORM: dict[str, str] = {}  # {"username": "${SITE_USER}", ...}
SESSION_LOGIN_SUCCESS_MARKER = None  # regex the page after login must contain
SESSION_LOGIN_FAILURE_MARKER = None
SESSION_MAX_BANS = 2  # bans before a session is retired (a login page retires it at once)
SESSION_LOGIN_MAX_FAILURES = 3  # failed logins before the crawl stops

rule_safe = {
    "USER_AGENT_FIXED",
    "USER_AGENT_ROTATE",
    "USER_AGENT_PLATFORMS",
    "USER_AGENT_BROWSERS",
    "USER_AGENT_OS",
    "USER_AGENT_MIN_VERSION",
    "USER_AGENT_MIN_PERCENT",
    "USER_AGENT_ACCEPT_LANGUAGE",
    "USER_AGENT_ROTATE_ON_BAN",
    "USER_AGENT_BAN_COOLDOWN",
    "PROXY_DIRECT",
    "PROXY_PAID_ONLY",
    "PROXY_WAIT_MAX",
    "PROXY_WAIT_POLL",
    "PROXY_DOWNLOAD_TIMEOUT",
    "BAN_ENABLED",
    "BAN_EXTRA_STATUSES",
    "BAN_EXTRA_MARKERS",
    "BAN_EXTRA_LOGIN_URL_PATTERNS",
    "BAN_EMPTY_BODY",
    "BAN_PROXY_AUTH_STATUSES",
    "BAN_RETRY_TIMES",
    "BAN_RETRY_DELAY",
    "BAN_RETRY_AFTER_MAX",
    "BAN_RETRY_PRIORITY_ADJUST",
    "SESSION_COUNT",
    "SESSION_ROTATE",
    "SESSION_LOGIN_URL",
    "SESSION_LOGIN_FORM",
    "SESSION_LOGIN_SUCCESS_MARKER",
    "SESSION_LOGIN_FAILURE_MARKER",
    "SESSION_MAX_BANS",
    "SESSION_LOGIN_MAX_FAILURES",
}
kinds = {
    "USER_AGENT_FIXED": "str",
    "USER_AGENT_SEED": "int",
    "SESSION_LOGIN_URL": "str",
    "SESSION_LOGIN_SUCCESS_MARKER": "str",
    "SESSION_LOGIN_FAILURE_MARKER": "str",
}
choices = {
    "PROXY_DIRECT": ("never", "fallback", "until_blocked"),
    "SESSION_ROTATE": ("round_robin", "random"),
}
minimums = {
    "USER_AGENT_BAN_COOLDOWN": 0,
    "PROXY_WAIT_MAX": 0,
    "PROXY_WAIT_POLL": 0.01,
    "PROXY_DOWNLOAD_TIMEOUT": 0,
    "BAN_RETRY_TIMES": 0,
    "BAN_RETRY_DELAY": 0,
    "BAN_RETRY_AFTER_MAX": 0,
    "SESSION_COUNT": 0,
    "SESSION_MAX_BANS": 1,
    "SESSION_LOGIN_MAX_FAILURES": 1,
}
