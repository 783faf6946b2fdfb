"""``start:``: the requests a crawl begins with, templated from the rule's arguments: page URLs,
or a sitemap (an index, a robots.txt) or a feed whose listed pages the crawl fetches
(crawler/spider/listings.py), with the filters and bounds of what it keeps."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from crawler.rules import templates
from crawler.rules.compile_context import BuildContext
from crawler.rules.expressions import regex_problem
from crawler.rules.fields import REGEX_LIST, as_tuple
from crawler.rules.model import MISSING, StartSpec
from crawler.rules.request_specs import url_problem
from crawler.rules.sections import Section
from crawler.rules.sections.headers import check_header_values
from crawler.rules.yamlpos import Path

SCALAR = {"type": ["string", "number", "boolean", "null"]}

LISTING_KEYS = ("sitemap", "feed")
# How a page request is made: a sitemap or feed is fetched with a plain GET.
REQUEST_KEYS = ("method", "form", "json", "body")
# Which listed pages a sitemap or feed start keeps: nothing to say for a start of page URLs.
LISTED_KEYS = ("allow", "deny", "max_urls", "max_depth")

START = {
    "type": "object",
    "description": "A start request: a URL (templated with {arg} and {1..N} ranges) and the page "
    "type it lands on; or a sitemap or feed whose listed pages land on it.",
    "properties": {
        "url": {"type": "string"},
        "urls": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "sitemap": {
            "type": "string",
            "description": "A sitemap or sitemap index URL (.xml, or gzip .xml.gz; an index's "
            "sitemaps are followed), or a robots.txt URL (its Sitemap: lines are followed): every "
            "page listed is fetched as page type `page`. With the crawl's seen-URL state, a page "
            "whose <lastmod> is not after its last fetch is skipped.",
        },
        "feed": {
            "type": "string",
            "description": "An RSS 2.0 or Atom feed URL: the page of every entry is fetched as page "
            "type `page` (its updated, else published, date counts as a sitemap's lastmod).",
        },
        "allow": {
            **REGEX_LIST,
            "description": "Sitemap and feed starts: keep only listed pages whose URL one of these "
            "regexes finds.",
        },
        "deny": {
            **REGEX_LIST,
            "description": "Sitemap and feed starts: leave out listed pages whose URL one of these "
            "regexes finds.",
        },
        "max_urls": {
            "type": "integer",
            "minimum": 1,
            "description": "Sitemap and feed starts: fetch at most this many listed pages (never "
            "more than the setting RULE_SITEMAP_MAX_URLS).",
        },
        "max_depth": {
            "type": "integer",
            "minimum": 0,
            "description": "Sitemap starts: how many levels of documents below the start's own are "
            "followed: 1 for the sitemaps of an index or a robots.txt, 2 for robots.txt, index, "
            "sitemaps; 0: the start's document only (never more than the setting "
            "RULE_SITEMAP_MAX_DEPTH).",
        },
        "page": {"type": "string"},
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "default": "GET"},
        "headers": {
            "$ref": "#/$defs/headers",
            "description": "Headers for this start and every request it leads to.",
        },
        "form": {
            "type": "object",
            "additionalProperties": SCALAR,
            "description": "Form body (POST).",
        },
        "json": {"description": "JSON body."},
        "body": {"type": "string", "description": "Raw body."},
        "carry": {
            "type": "object",
            "description": "Values every item reached from here starts with.",
        },
        "priority": {"type": "integer"},
    },
    "required": ["page"],
    "additionalProperties": False,
}


def build(ctx: BuildContext) -> tuple[StartSpec, ...]:
    specs = ctx.data.get("start")
    if not isinstance(specs, list):
        return ()
    starts = {
        i: build_start(ctx, spec, ("start", i))
        for i, spec in enumerate(specs)
        if isinstance(spec, dict)  # else the schema said what it should be
    }
    check_count(ctx, starts)
    return tuple(starts.values())


def check_scheme(ctx: BuildContext, template: str, path: Path) -> None:
    """A start URL must be http or https (with the declared defaults; the crawl checks again
    with the arguments it is given)."""
    args = {k: v for k, v in ctx.arg_defaults.items() if v is not None}
    try:
        first = next(templates.expand(template, args), None)
    except (KeyError, ValueError):
        return  # a required argument, or a template problem reported already
    problem = url_problem(first) if first is not None else None
    if problem and path[-1] == "sitemap" and first == "robots":
        problem += ' (for the Sitemap: lines of a robots.txt, write its URL: "{site}/robots.txt")'
    if problem:
        ctx.error(path, f"{first!r}: {problem}")


def check_count(ctx: BuildContext, starts: dict[int, StartSpec]) -> None:
    """With the declared defaults, the start URLs must stay within the limit (the crawl checks
    again with the arguments it is given)."""
    args = {k: v for k, v in ctx.arg_defaults.items() if v is not None}
    total = 0
    for i, spec in starts.items():
        # a sitemap or feed start counts its own requests; what it lists is bounded apart
        for j, template in enumerate(spec.first_urls):
            try:
                total += templates.count(template, args)
            except (KeyError, ValueError):
                continue  # a required argument: known at crawl time; a bad template: reported
            if total > ctx.env.max_start_requests:
                if spec.listing is not None:
                    path: Path = ("start", i, spec.listing)
                else:
                    path = ("start", i) + (("url",) if len(spec.urls) == 1 else ("urls", j))
                ctx.error(
                    path,
                    f"the start URLs stand for {total:,}+ requests, more than the limit of "
                    f"{ctx.env.max_start_requests:,} (setting RULE_MAX_START_REQUESTS)",
                )
                return


def build_start(ctx: BuildContext, spec: dict, path: Path) -> StartSpec:
    """A start request from the parts of ``spec`` the schema accepted."""
    sources = [k for k in ("url", "urls", *LISTING_KEYS) if k in spec]
    if len(sources) != 1:
        found = f" (found {' and '.join(sources)})" if sources else ""
        ctx.error(path, f"needs exactly one of url, urls, sitemap or feed{found}")
    url = ctx.part(spec, "url", path)
    urls = [url] if url is not None else list(ctx.part(spec, "urls", path, []))
    for i, url in enumerate(urls):
        sub = path + (("url",) if "url" in spec else ("urls", i))
        ctx.check_template(url, sub)
        check_scheme(ctx, url, sub)
    listing, listing_url = build_listing(ctx, spec, path)
    bodies = [k for k in ("form", "json", "body") if k in spec]
    if len(bodies) > 1:
        ctx.error(path, f"give one body: form, json or body (found {' and '.join(bodies)})")
    ctx.check_page_ref(spec.get("page"), path + ("page",))
    headers = ctx.part(spec, "headers", path, {})
    check_header_values(ctx, headers, path + ("headers",))
    form = ctx.part(spec, "form", path)
    return StartSpec(
        urls=tuple(urls),
        page=spec.get("page", ""),
        method=spec.get("method", "POST" if bodies else "GET"),
        headers=MappingProxyType(dict(headers)),
        form=MappingProxyType(dict(form)) if form is not None else None,
        json=spec.get("json", MISSING),
        body=spec.get("body"),
        carry=MappingProxyType(dict(ctx.part(spec, "carry", path, {}))),
        priority=spec.get("priority"),
        extras=MappingProxyType({k: v for k, v in spec.items() if k not in START["properties"]}),
        listing=listing,
        listing_url=listing_url,
        allow=as_tuple(ctx.part(spec, "allow", path)),
        deny=as_tuple(ctx.part(spec, "deny", path)),
        max_urls=ctx.part(spec, "max_urls", path),
        max_depth=ctx.part(spec, "max_depth", path),
    )


def build_listing(ctx: BuildContext, spec: dict, path: Path) -> tuple[str | None, str | None]:
    """A sitemap or feed start's kind and URL template, checked with the keys that go with it;
    (None, None) for a start of page URLs."""
    listing = next((k for k in LISTING_KEYS if k in spec), None)
    if listing is None:
        for key in LISTED_KEYS:
            if key in spec:
                ctx.error(path + (key,), f"{key} is for sitemap and feed starts")
        return None, None
    for key in REQUEST_KEYS:
        if key in spec:
            ctx.error(path + (key,), f"a {listing} is fetched with GET: {key} does not apply")
    if listing == "feed" and "max_depth" in spec:
        ctx.error(path + ("max_depth",), "a feed has no index to follow: max_depth does not apply")
    for key in ("allow", "deny"):
        patterns = as_tuple(ctx.part(spec, key, path))
        for i, pattern in enumerate(patterns):
            message = regex_problem(pattern)
            if message:
                ctx.error(path + (key,) + ((i,) if isinstance(spec[key], list) else ()), message)
    url = ctx.part(spec, listing, path)
    if url is not None:
        ctx.check_template(url, path + (listing,))
        check_scheme(ctx, url, path + (listing,))
    return listing, url


PROPERTIES: dict[str, Any] = {
    "start": {"type": "array", "items": {"$ref": "#/$defs/start"}, "minItems": 1},
}

SECTION = Section(
    name="start",
    order=20,
    properties=PROPERTIES,
    defs={"start": START},
    build=build,
    required=("start",),
)
