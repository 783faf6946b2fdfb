"""The project's Scrapy settings: the platform's defaults (crawler/defaults/, one module per
group) and the project's choices of Scrapy settings and components.

A deployment overrides them in its own file, outside the repository (``$CRAWLER_CONFIG``, else
``<state dir>/crawler.yaml``), and with ``CRAWLER_<NAME>`` environment variables, both applied at
the end of this module (crawler/config, docs/configuration.md); then ``-s NAME=VALUE`` and, for
one rule's spider, the rule's ``settings:`` (plain values only: see crawler/defaults/__init__.py
for what a rule may set).
"""

from crawler.config import apply_deployment
from crawler.defaults.accounts import *  # noqa: F403
from crawler.defaults.antiban import *  # noqa: F403
from crawler.defaults.archive import *  # noqa: F403
from crawler.defaults.auth import *  # noqa: F403
from crawler.defaults.distributed import *  # noqa: F403
from crawler.defaults.files import *  # noqa: F403
from crawler.defaults.monitors import *  # noqa: F403
from crawler.defaults.neardup import *  # noqa: F403
from crawler.defaults.nodes import *  # noqa: F403
from crawler.defaults.politeness import *  # noqa: F403
from crawler.defaults.push import *  # noqa: F403
from crawler.defaults.render import *  # noqa: F403
from crawler.defaults.rules import *  # noqa: F403
from crawler.defaults.runs import *  # noqa: F403
from crawler.defaults.schedule import *  # noqa: F403
from crawler.defaults.service import *  # noqa: F403
from crawler.defaults.store import *  # noqa: F403
from proxies.defaults import *  # noqa: F403  (the proxy pools' own settings)

BOT_NAME = "crawler"

# Spiders are generated from rule files; hand-written spiders load too from the modules a
# project lists in SPIDER_MODULES (none here).
SPIDER_LOADER_CLASS = "crawler.spider.loader.RuleSpiderLoader"
SPIDER_MODULES: list[str] = []
COMMANDS_MODULE = "crawler.commands"

ROBOTSTXT_OBEY = False
CONCURRENT_REQUESTS = 16
# Scrapy starts CONCURRENT_ITEMS asyncio tasks for every response's output (default 100). Our
# pipelines are synchronous and batch their writes, so more than a few buys nothing: measured
# on the sample site, 100 -> 8 took the crawl from ~160 to ~220 pages per CPU-second.
CONCURRENT_ITEMS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 30
# Bounded responses: a bigger body, or a compressed one that inflates beyond this, is refused
# (counted under rule/request_errors/too_large), never parsed. Scrapy's defaults are 1 GiB / 32 MiB.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control runs Python code sent over HTTP into every crawl (and writes a job
# file into the user's profile): off, as the telnet console is. The data service is the
# platform's way to watch and stop crawls.
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# Scrapy's downloader, asking each host's shared budget first (HOST_RATE, HOST_CONCURRENCY,
# HOST_BUDGETS: crawler/politeness/); with no budget set it is Scrapy's own, unchanged.
DOWNLOADER = "crawler.politeness.downloader.BudgetedDownloader"

DOWNLOADER_MIDDLEWARES = {
    # Rule crawls: http and https only, never a URL's user info (redirects included).
    "crawler.spider.url_guard.SafeUrlMiddleware": 50,
    "crawler.spider.encoding.EncodingMiddleware": 120,
    # Anti-ban (docs/antiban.md). process_request runs in ascending order: session, then proxy,
    # then the user-agent profile of that session/proxy; HttpProxyMiddleware (750) applies the
    # proxy. process_response runs descending: the ban check (585) sees decompressed bodies
    # (compression is 590) and followed redirects (600), and ban statuses before RetryMiddleware (550).
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawler.antiban.cookie_session_middleware.CookieSessionMiddleware": 540,
    "crawler.antiban.proxy_middleware.ProxyMiddleware": 545,
    "crawler.antiban.useragent_middleware.UserAgentMiddleware": 548,
    "crawler.antiban.ban_middleware.BanMiddleware": 585,
    # OAuth tokens of a rule's auth: section (docs/auth.md). The token goes on last and comes off
    # first (950: inside the redirect middleware at 600, the cookies, the proxy and the HTTP cache
    # at 900), so nothing but the download sees it: a redirected request is built from the clean
    # URL and signed again only for the provider's hosts. Answers to signed requests are read
    # decompressed (590), before the ban check (585): tokens out of the body, expired -> retried.
    "crawler.oauth.middleware.OAuthMiddleware": 950,
    "crawler.oauth.answers.OAuthAnswerMiddleware": 588,
}

# Validation marks invalid items (_errors, _raw) before the store writes them (dead letters).
ITEM_PIPELINES = {
    # The files of a rule's `files:` fields, fetched through the crawl (crawler/files).
    "crawler.files.pipeline.FilesPipeline": 700,
    "crawler.store.itemtype_pipeline.ItemTypePipeline": 800,
    "crawler.store.store_pipeline.StorePipeline": 900,
}

EXTENSIONS = {
    "crawler.spider.secret_redaction.SecretRedaction": 0,  # secrets out of every log line
    "crawler.runs.runlog.RunLog": 10,  # every crawl's log in a file of its own
    # A progress line every PROGRESS_INTERVAL seconds, in place of Scrapy's LogStats.
    "scrapy.extensions.logstats.LogStats": None,
    "crawler.runs.progress.Progress": 20,
    # A crawl of many sites (a table, a tag): each site's figures, status and run record.
    "crawler.spider.site_runs.SiteRuns": 390,
    "crawler.runs.coverage.FieldCoverage": 400,  # field coverage, empty-field warnings
    "crawler.monitors.extension.Monitors": 450,  # a rule's monitors: (after coverage, before the run record)
    "crawler.monitors.stall.StallWatch": 30,  # a rule's monitors: {stall}: no progress -> alert
    "crawler.push.extension.Push": 460,  # PUSH_SINKS or a rule's push: (off otherwise)
    "crawler.runs.recorder.RunRecorder": 500,
    # With REDIS_URL: who, where and how far this crawl is, for the Nodes page (crawler/nodes).
    "crawler.nodes.heartbeat.Heartbeat": 510,
    "crawler.schedule.scheduled_runs.ScheduledRunMarker": 100,  # only under `scrapy schedule`
}

# Distributed crawls switch on with REDIS_URL (crawler/defaults/distributed.py).
ADDONS = {"crawler.distributed.addon.DistributedCrawl": 0}
# Extensions switched off (the remote control, the telnet console) are not even imported.
ADDONS["crawler.core.switches.UnloadedWhenOff"] = 0
# Rendering in Chromium switches on with RENDER_ENABLED (a rule's render: sets it; crawler/render).
ADDONS["crawler.render.addon.Rendering"] = 10
# Impersonating a browser's TLS/HTTP2 fingerprint switches on with IMPERSONATE (a rule's
# antiban.impersonate; crawler/antiban/impersonate.py): after rendering, whose pages stay its own.
ADDONS["crawler.antiban.impersonate.Impersonation"] = 20

# Incremental crawls: `fetch: once` pages are skipped when seen (crawler/defaults/distributed.py).
SPIDER_MIDDLEWARES = {"crawler.distributed.incremental_crawl.IncrementalMiddleware": 600}
# The page archive: every page a page type parsed, when the rule has `archive:` (crawler/archive).
# After Scrapy's HTTP error filter (50): only what reaches the spider is kept.
SPIDER_MIDDLEWARES["crawler.archive.middleware.PageArchiveMiddleware"] = 650

# Last: the deployment's file and CRAWLER_<NAME> environment variables, checked against the
# settings catalog (a problem ends the command with exit status 2, one line each).
apply_deployment(globals())
