"""Rules and extraction: where rules live, what they may ask for, how responses are decoded.

Lower-case names below are not settings: ``rule_safe`` lists the settings a rule's
``settings:`` may set, ``kinds`` the types of settings whose default is None, ``choices`` their
allowed values (read by :mod:`crawler.defaults` to build the settings catalog).
"""

from vocab.datadir import data_dir, rules_dir

# Where site rules (and item types, under types/) live.
RULES_DIR = str(rules_dir)
# Every saved version of each rule, with its author, time and message (`scrapy rules history`,
# the editor's history): with the platform's data, not inside RULES_DIR; at most
# RULE_HISTORY_KEEP versions per rule.
RULE_HISTORY_DIR = str(data_dir / "rule-history")
RULE_HISTORY_KEEP = 500
# Your own modules registering cleaners (@cleaner) and extractors (@extractor) that rules name.
PLUGIN_MODULES: list[str] = []
# The most start requests one rule may make (its templates' ranges multiplied out).
RULE_MAX_START_REQUESTS = 100_000
# Sitemap and feed starts (crawler/spider/listings.py), each start on its own: the most pages it
# requests (its max_urls may ask fewer), how many levels of sitemap indexes (and robots.txt)
# below its own document it follows (its max_depth may ask fewer), and the most sitemaps it
# fetches past its own; a rule's settings: cannot raise them. A document is read up to
# DOWNLOAD_MAXSIZE, inflated gzip included.
RULE_SITEMAP_MAX_URLS = 100_000
RULE_SITEMAP_MAX_DEPTH = 3
RULE_SITEMAP_MAX_FILES = 1_000
# Private and loopback origins (URLs: their host and port count) a rule crawl may reach besides
# its rule's own start origins (docs/security.md): an intranet service the pages link to, a login
# on another port. `scrapy shell` and `scrapy parse` add the URL they are given; preview does not.
CRAWL_PRIVATE_ORIGINS: list[str] = []
# Force one response encoding for every page (a rule's `encoding:` sets it for its spider).
RESPONSE_ENCODING = None
# Detect undeclared non-UTF-8 encodings (charset-normalizer, with the page's language as a hint).
RESPONSE_ENCODING_DETECT = True

rule_safe = {"RESPONSE_ENCODING", "RESPONSE_ENCODING_DETECT"}  # a rule lowers its own bounds
kinds = {"RESPONSE_ENCODING": "str", "PLUGIN_MODULES": "list"}
minimums = {
    "RULE_MAX_START_REQUESTS": 1,
    "RULE_HISTORY_KEEP": 1,
    "RULE_SITEMAP_MAX_URLS": 1,
    "RULE_SITEMAP_MAX_DEPTH": 0,
    "RULE_SITEMAP_MAX_FILES": 0,
}
