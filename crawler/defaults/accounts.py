"""Account pools: the accounts cookie sessions log in with, shared through Redis or the process
(crawler/accounts; docs/antiban.md, "Account pools"). The accounts themselves are the
deployment's (ACCOUNTS_FILE, ACCOUNTS_POOL_<POOL> variables), never a rule's."""

# The pool a crawl's cookie sessions lease their accounts from (a rule: sessions.accounts).
# None: sessions are not bound to accounts.
ACCOUNTS_POOL = None
ACCOUNTS_FILE = ""  # YAML or JSON: {pool: [{name, username, password_env, limits...}]}
# Where the pool's state lives: this Redis; empty: REDIS_URL when the crawl is distributed,
# else the crawling process (one machine, one process: the same rules).
ACCOUNTS_REDIS_URL = ""
ACCOUNTS_KEY_PREFIX = "crawler:accounts:"
ACCOUNTS_LEASE_TTL = 60.0  # a lease not renewed this long (a killed process) ends (s)
ACCOUNTS_WAIT_MAX = 120.0  # a session waits this long for a usable account, then the crawl stops
ACCOUNTS_POLL = 1.0  # seconds between asks while every account is busy or resting
# Each account's limits unless its entry says otherwise (min_interval, per_minute, ...).
ACCOUNTS_MIN_INTERVAL = 0.0  # seconds between two requests of one account (all processes)
ACCOUNTS_DAILY_QUOTA = 0  # requests per account per local day (0: none); resets at midnight
ACCOUNTS_QUOTA_TIMEZONE = ""  # IANA zone of that midnight; empty: the machine's local time
ACCOUNTS_MAX_PROCESSES = 1  # processes holding one account at once
ACCOUNTS_MAX_BANS = 3  # bans before an account is retired (until `scrapy accounts reinstate`)
ACCOUNTS_MAX_LOGIN_FAILURES = 3  # failed logins in a row before it is retired
ACCOUNTS_COOLDOWN = 300.0  # rest after a ban (s), doubled per ban in a row
ACCOUNTS_COOLDOWN_MAX = 21600.0
# Logged-in cookies, encrypted (Fernet) with the key in this variable or file; without a key
# they are not kept and each process logs in. `scrapy accounts keygen` makes a key.
ACCOUNTS_COOKIE_KEY_ENV = "CRAWLER_ACCOUNTS_KEY"
ACCOUNTS_COOKIE_KEY_FILE = ""
ACCOUNTS_COOKIES_MAX_AGE = 604800.0  # seconds stored cookies are trusted

rule_safe = {"ACCOUNTS_POOL"}
kinds = {"ACCOUNTS_POOL": "str"}
choices: dict[str, tuple] = {}
minimums = {
    "ACCOUNTS_LEASE_TTL": 1,
    "ACCOUNTS_WAIT_MAX": 0,
    "ACCOUNTS_POLL": 0.01,
    "ACCOUNTS_MIN_INTERVAL": 0,
    "ACCOUNTS_DAILY_QUOTA": 0,
    "ACCOUNTS_MAX_PROCESSES": 1,
    "ACCOUNTS_MAX_BANS": 1,
    "ACCOUNTS_MAX_LOGIN_FAILURES": 1,
    "ACCOUNTS_COOLDOWN": 0,
    "ACCOUNTS_COOLDOWN_MAX": 0,
    "ACCOUNTS_COOKIES_MAX_AGE": 1,
}
