"""Anti-ban: user agents, proxies (the crawler's side), ban detection and retries, cookie
sessions (crawler/antiban; docs/antiban.md). The proxy pools' own settings
(PROXY_LIST, backoffs, PROXY_POOL_*) are in proxies/defaults.py."""

from crawler.rules.sections.antiban import schema as _rule_schema

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

# --- impersonation (crawler.antiban.impersonate; a rule's antiban.impersonate) ---
# A curl_cffi target (chrome, edge, firefox, safari, chrome131, ...): http/https go through
# curl_cffi with that browser's TLS and HTTP/2 fingerprint and its own headers. None: Scrapy's.
IMPERSONATE = None
# Check certificates as the browser would. Off by default, as Scrapy's own handler does not.
IMPERSONATE_VERIFY = False
# The handler of requests that do not impersonate (set by the add-on: rendering's, when on);
# None: Scrapy's own.
IMPERSONATE_OTHER_HANDLER = None

# --- proxies (crawler.antiban.proxy_middleware) ---
PROXY_ENABLED = True  # False: the proxy middleware is off (no proxies: it is off anyway)
PROXY_POOL_CLASS = "proxies.static.StaticProxyPool"
PROXY_POLICY = "random"  # random | round_robin | lru | sticky_domain | sticky_session | class path
PROXY_DIRECT = "never"  # never | fallback | until_blocked
PROXY_PAID_ONLY = False
PROXY_WAIT_MAX = 120.0  # no proxy has worked for a domain this long (across retries): the crawl stops (antiban_no_proxy)
PROXY_WAIT_POLL = 1.0
PROXY_DOWNLOAD_TIMEOUT = 8.0  # seconds a proxied request may take (0: DOWNLOAD_TIMEOUT): a stalled
# proxy is then noticed, benched and logged within 10 s, not after DOWNLOAD_TIMEOUT (30 s)

# --- ban detection and retry (crawler.antiban.ban_middleware, crawler.antiban.ban_policy) ---
BAN_ENABLED = True
BAN_POLICY_CLASS = "crawler.antiban.ban_policy.BanPolicy"
BAN_STATUSES = [403, 407, 429, 503]
BAN_EXTRA_STATUSES: list[int] = []
# What a block or challenge page shows (crawler.antiban.block_pages). Every pattern is a regex,
# case-insensitive, searched in the first BAN_SCAN_CHARS characters of a text response; a match
# only makes the page a suspect: it is a ban when the page is also shaped like a block (short:
# at most BAN_BLOCK_TEXT_MAX bytes of visible text and BAN_BLOCK_LINKS_MAX links) and, in a rule
# crawl, does not yield its page type's required fields. Articles that discuss captchas, quote
# "access denied" or show a captcha image are long pages: content.
# Known challenge markup of the common vendors, by name (the name is the evidence logged and
# the stat antiban/signals/<name>); a project may replace or extend the table, and a name mapped
# to "" switches that entry off.
BAN_CHALLENGE_MARKERS = {
    "cloudflare": (
        r"_cf_chl_opt|\bcf-chl-|/cdn-cgi/challenge-platform/h/|cf-browser-verification"
        r"|<title>\s*(Just a moment\.\.\.|Attention Required! \| Cloudflare)|cf-error-details"
    ),
    "akamai": (
        r"Reference(&#32;|\s)(&#35;|#)\d+(&#46;|\.)[0-9a-f]+|\b_abck\b|/_sec/cp_challenge/"
        r"|\bsec-if-cpt\b|\bbm-verify\b"
    ),
    "perimeterx": r"px-captcha|_pxCaptcha|_pxJsClientSrc|\bpx-block\b",
    "datadome": r"captcha-delivery\.com|\bvar dd\s*=\s*\{",
    "imperva": r"_Incapsula_Resource|Incapsula incident ID|/distil_r_captcha|distil_ident",
    "geetest": r"\bgeetest|/gt\.js\b|initGeetest",
    "tencent": r"TencentCaptcha|turing\.captcha|captcha\.qq\.com|TCaptcha(-global)?\.js",
    "aliyun": r"aliyun_captcha|\bAWSC\b|\bnc_\d+_(wrapper|n1z|scale)|\bnc-container\b|nocaptcha",
    "slider": r"slide-?verify|slider-?captcha|captcha-?slider|verify-?slider|(拖动|滑动)(下方)?滑块",
}
# Block and challenge phrases (evidence "marker"); BAN_EXTRA_MARKERS adds a rule's own.
BAN_MARKERS = [
    r"verify (that )?you are (a )?human",
    r"are you a (robot|human)\b",
    r"unusual traffic from your computer network",
    r"access (to this page )?(has been |is )?denied",
    r"checking (if the site connection is secure|your browser before accessing)",
    r"please (complete the security check|enable (javascript and )?cookies)",
    r"pardon our interruption",
    r"(request|you have been) blocked",
    r"安全验证|人机验证|访问验证|访问受限|访问被拒绝|请输入验证码|异常(访问|流量|请求)",
]
BAN_EXTRA_MARKERS: list[str] = []
BAN_SCAN_CHARS = 200_000  # characters of a page the patterns read; a longer page is no block page
BAN_BLOCK_TEXT_MAX = 1000  # bytes (UTF-8) of visible text a block page has at most
BAN_BLOCK_LINKS_MAX = 12  # links a block page has at most
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
    "IMPERSONATE",
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
    "BAN_BLOCK_TEXT_MAX",
    "BAN_BLOCK_LINKS_MAX",
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
    "IMPERSONATE": "str",
    "IMPERSONATE_OTHER_HANDLER": "str",
    "USER_AGENT_FIXED": "str",
    "USER_AGENT_SEED": "int",
    "SESSION_LOGIN_URL": "str",
    "SESSION_LOGIN_SUCCESS_MARKER": "str",
    "SESSION_LOGIN_FAILURE_MARKER": "str",
}
choices = {
    "IMPERSONATE": _rule_schema.IMPERSONATE_TARGETS,
    "PROXY_DIRECT": ("never", "fallback", "until_blocked"),
    "SESSION_ROTATE": ("round_robin", "random"),
}
minimums = {
    "USER_AGENT_BAN_COOLDOWN": 0,
    "PROXY_WAIT_MAX": 0,
    "PROXY_WAIT_POLL": 0.01,
    "PROXY_DOWNLOAD_TIMEOUT": 0,
    "BAN_RETRY_TIMES": 0,
    "BAN_SCAN_CHARS": 1000,
    "BAN_BLOCK_TEXT_MAX": 0,
    "BAN_BLOCK_LINKS_MAX": 0,
    "BAN_RETRY_DELAY": 0,
    "BAN_RETRY_AFTER_MAX": 0,
    "SESSION_COUNT": 0,
    "SESSION_MAX_BANS": 1,
    "SESSION_LOGIN_MAX_FAILURES": 1,
}
