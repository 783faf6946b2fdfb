"""The rule spider: what turns a compiled rule into a Scrapy crawl.

- :mod:`.project`: the project's compile context (plugins, settings catalog, OAuth providers,
  user-agent data) and its rules (:func:`project_rules`, a :class:`crawler.rules.Ruleset`);
- :mod:`.loader`: the spider loader, one spider per rule (``SPIDER_LOADER_CLASS``);
- :mod:`.rule_spider`: the generic spider, a thin adapter over the compiled rule, and
  :mod:`.requests`, where request specs become Scrapy requests;
- :mod:`.extract`: compiled extraction (selectors, fields, links, pages; :mod:`.extract.pagetree`
  parses each response once);
- :mod:`.listings`: sitemap and feed starts, the pages they list becoming requests (their
  documents read by :mod:`.listing_formats`);
- :mod:`.expectations`: what a rule expects of its pages (its page types' required fields), the
  rule spider's answer to the ban middleware (:class:`crawler.antiban.ExpectsContent`);
- downloader middlewares of every rule crawl: :mod:`.url_guard` (http and https only, no user
  info) and :mod:`.encoding` (forced and detected encodings); the extension
  :mod:`.secret_redaction` (secrets out of every log line); :mod:`.signals`
  (``request_failed``: a request over for good, for the rest of the crawl);
- :mod:`.fixtures` (``scrapy preview --save``, ``scrapy rules test``) and :mod:`.scaffold`
  (``scrapy rules new``); :mod:`.repair` (``scrapy rules repair``), whose selectors for an
  element (:func:`selector_candidates`) the rule editor's point-and-click picker proposes.

Other packages use what this module exports.
"""

from crawler.spider.encoding import EncodingMiddleware
from crawler.spider.extract.inputs import META_RENDER_JSON
from crawler.spider.extract.pagetree import page_root
from crawler.spider.project import compile_context, parse_rule, project_rules
from crawler.spider.repair import candidates as selector_candidates
from crawler.spider.requests import (
    META_CARRY,
    META_LASTMOD,
    META_PAGE,
    META_PAGENO,
    META_START,
)
from crawler.spider.rule_spider import RuleSpider, default_start_hosts
from crawler.spider.signals import request_failed

__all__ = [
    "EncodingMiddleware",
    "META_CARRY",
    "META_LASTMOD",
    "META_PAGE",
    "META_PAGENO",
    "META_RENDER_JSON",
    "META_START",
    "RuleSpider",
    "compile_context",
    "default_start_hosts",
    "page_root",
    "parse_rule",
    "project_rules",
    "request_failed",
    "selector_candidates",
]
