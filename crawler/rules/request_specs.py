"""Request specifications: what a rule asks to fetch, as plain data, from a rule and arguments.

One pure function of rule + arguments gives the start requests of a crawl; the spider's
``start``, ``scrapy seed`` and preview all use it, and turn specs into Scrapy requests in one
place (:mod:`crawler.spider.requests`). Headers of the rule and of a start follow every request
they lead to (links, pagination), templated with ``{arg}`` and ``${ENV}``. A sitemap or feed
start makes the request of its document; the spider turns what it lists into requests
(:mod:`crawler.spider.listings`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from crawler.rules import templates
from crawler.rules.compile_context import DEFAULT_MAX_START_REQUESTS
from crawler.rules.envvars import env_refs, expand_env
from crawler.rules.model import EMPTY, MISSING, Rule, StartSpec

ALLOWED_SCHEMES = ("http", "https")


class StartError(ValueError):
    """The crawl cannot start as asked (missing arguments or variables, too many start URLs)."""


@dataclass(frozen=True)
class RequestSpec:
    url: str
    page: str | None  # None: the page type is guessed from the URL when the response arrives
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    form: Mapping[str, str] | None = None
    json: Any = MISSING
    body: str | None = None
    carry: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    priority: int = 0
    pageno: int = 1  # position in a pagination sequence
    start: bool = False  # a start request: never dropped as a duplicate
    start_index: int | None = None  # which of the rule's starts made it (its own keys: render)
    # a document listing pages of type ``page``, read by the spider: "sitemap", "robots" or
    # "feed"; and how many documents lie between it and its start's own
    listing: str | None = None
    listing_depth: int = 0
    lastmod: float | None = None  # a listed page: when its listing says it changed (epoch s)
    depth_base: int = 0  # a listed page: its crawl depth, which counts as its start's depth 0


@dataclass(frozen=True)
class RuleArgs:
    """Arguments of one run: ``values`` (given, else declared defaults), and what is wrong."""

    values: Mapping[str, Any]
    missing: tuple[str, ...] = ()  # declared required (null default) and not given
    unknown: tuple[str, ...] = ()  # given but not declared


def resolve_args(rule: Rule, given: Mapping[str, Any]) -> RuleArgs:
    """``-a`` arguments against the rule's declared ``args``.

    >>> from crawler.rules.compiler import compile_rule
    >>> rule = compile_rule("args: {site: null, cat: books}\\nstart: [{url: '{site}/{cat}', page: p}]\\n"
    ...                     "pages: {p: {fields: {t: {css: h1}}}}")
    >>> resolve_args(rule, {"cat": "music", "color": "red"})
    RuleArgs(values={'site': None, 'cat': 'music'}, missing=('site',), unknown=('color',))
    """
    values = {name: given.get(name, default) for name, default in rule.args.items()}
    missing = tuple(name for name, value in values.items() if value is None)
    unknown = tuple(sorted(k for k in given if k not in rule.args and not k.startswith("_")))
    return RuleArgs(values, missing, unknown)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be fetched by a rule crawl, or None (http and https only)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return f"invalid URL: {exc}"
    if not parts.scheme:
        return f"Missing scheme in request url: {url}"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"only http and https URLs can be crawled, not {parts.scheme}:"
    if not host:
        return "the URL has no host"
    return None


def strip_userinfo(url: str) -> str:
    """``url`` without user info: a rule crawl never sends credentials (or a fake host) that a
    page or a template put before the ``@``.

    >>> strip_userinfo("http://evil.invalid@127.0.0.1:8790/x?a=1")
    'http://127.0.0.1:8790/x?a=1'
    >>> strip_userinfo("http://127.0.0.1/a@b")
    'http://127.0.0.1/a@b'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def missing_variables(rule: Rule, environ: Mapping[str, str] | None = None) -> list[str]:
    """Environment variables the rule's requests refer to (``${NAME}``) that are not set."""
    env = os.environ if environ is None else environ
    names: list[str] = []
    for value in header_templates(rule):
        names += [n for n in env_refs(value) if n not in env and n not in names]
    return names


def env_names(rule: Rule) -> list[str]:
    """Every environment variable the rule refers to (headers, login form): their values are
    secrets of the run."""
    values = list(header_templates(rule))
    values += [str(v) for v in (rule.crawl_settings.get("SESSION_LOGIN_FORM") or {}).values()]
    return list(dict.fromkeys(n for value in values for n in env_refs(value)))


def secret_values(
    rule: Rule, args: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> list[str]:
    """The values a run must never show: its secret arguments and the environment variables
    the rule refers to."""
    env = os.environ if environ is None else environ
    found = [str(v) for k, v in args.items() if k in rule.secret_args and v is not None]
    return found + [env[name] for name in env_names(rule) if name in env]


def header_templates(rule: Rule) -> Iterator[str]:
    yield from (rule.section("headers") or {}).values()
    for spec in rule.start:
        yield from spec.headers.values()


def headers_for(
    rule: Rule, spec: StartSpec, args: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, str]:
    """The rule's headers, then the start's, templated with arguments and the environment."""
    raw = {**(rule.section("headers") or {}), **spec.headers}
    return {k: expand_env(templates.substitute(v, args), environ) for k, v in raw.items()}


def start_count(rule: Rule, args: Mapping[str, Any]) -> int:
    """How many start requests the rule makes with ``args`` (without making them)."""
    return sum(templates.count(t, args) for spec in rule.start for t in spec.first_urls)


def start_requests(
    rule: Rule,
    args: RuleArgs,
    *,
    environ: Mapping[str, str] | None = None,
    max_requests: int = DEFAULT_MAX_START_REQUESTS,
    on_bad_url: Callable[[str, str], None] | None = None,
) -> Iterator[RequestSpec]:
    """Every start request of a crawl, lazily; :class:`StartError` before the first one when
    the crawl cannot start. A bad URL (after templating) goes to ``on_bad_url(url, reason)``."""
    env = os.environ if environ is None else environ
    if args.missing:
        example = " ".join(f"-a {n}=VALUE" for n in args.missing)
        raise StartError(
            f"rule {rule.name} needs argument(s) {', '.join(args.missing)}: "
            f"scrapy crawl {rule.name} {example}"
        )
    unset = missing_variables(rule, env)
    if unset:
        raise StartError(
            f"rule {rule.name} needs environment variable(s) {', '.join(unset)}: set them "
            "before the crawl (they hold secrets, so rules refer to them as ${NAME})"
        )
    try:
        total = start_count(rule, args.values)
    except ValueError as exc:
        raise StartError(f"rule {rule.name}: {exc}") from None
    if total > max_requests:
        raise StartError(
            f"rule {rule.name} would make {total:,} start requests, more than the limit of "
            f"{max_requests:,} (setting RULE_MAX_START_REQUESTS)"
        )
    return _generate(rule, args.values, env, on_bad_url)


def _generate(
    rule: Rule,
    args: Mapping[str, Any],
    env: Mapping[str, str],
    on_bad_url: Callable[[str, str], None] | None,
) -> Iterator[RequestSpec]:
    for index, spec in enumerate(rule.start):
        headers = MappingProxyType(headers_for(rule, spec, args, env))
        for template in spec.first_urls:
            for url in templates.expand(template, args):
                problem = url_problem(url)
                if problem:
                    if on_bad_url is not None:
                        on_bad_url(url, problem)
                    continue
                yield start_spec(rule, spec, url, args, headers, index)


def start_spec(
    rule: Rule,
    spec: StartSpec,
    url: str,
    args: Mapping[str, Any],
    headers: Mapping[str, str],
    index: int | None = None,
) -> RequestSpec:
    if spec.listing is not None:
        return listing_spec(spec, url, headers, index)
    page = rule.pages[spec.page]
    form = json_body = body = None
    if spec.form is not None:
        form = {
            k: "" if v is None else templates.substitute(str(v), args) for k, v in spec.form.items()
        }
    elif spec.json is not MISSING:
        json_body = _substitute_all(spec.json, args)
    elif spec.body is not None:
        body = templates.substitute(spec.body, args)
    return RequestSpec(
        url=url,
        page=spec.page,
        method=spec.method,
        headers=headers,
        form=form,
        json=json_body if spec.json is not MISSING else MISSING,
        body=body,
        carry=MappingProxyType(dict(spec.carry)),
        priority=spec.priority if spec.priority is not None else page.priority,
        start=True,
        start_index=index,
    )


def listing_spec(
    spec: StartSpec, url: str, headers: Mapping[str, str], index: int | None
) -> RequestSpec:
    """The request of a sitemap or feed start: a GET of its document (a robots.txt is read for
    its ``Sitemap:`` lines), never rendered, whatever the start's own keys say."""
    kind = spec.listing
    if kind == "sitemap" and is_robots_url(url):
        kind = "robots"
    return RequestSpec(
        url=url,
        page=spec.page,
        headers=headers,
        priority=spec.priority or 0,
        start=True,
        start_index=index,
        listing=kind,
    )


def is_robots_url(url: str) -> bool:
    """Whether ``url`` names a robots.txt (as Scrapy's SitemapSpider tells).

    >>> is_robots_url("http://a.test/robots.txt"), is_robots_url("http://a.test/sitemap.xml")
    (True, False)
    """
    try:
        return urlsplit(url).path.endswith("/robots.txt")
    except ValueError:
        return False


def guess_page(rule: Rule, url: str, args: Mapping[str, Any] | None = None) -> str | None:
    """The page type whose ``match`` pattern fits ``url``, else the page a start URL lands on."""
    return page_choice(rule, url, args)[0]


def page_choice(
    rule: Rule, url: str, args: Mapping[str, Any] | None = None
) -> tuple[str | None, str]:
    """:func:`guess_page`, and why, for a person: which ``match`` fits, which start makes the URL,
    or that nothing does."""
    for name, page in rule.pages.items():
        if page.match and re.search(page.match, url):
            return name, f"its URL fits pages.{name}.match '{page.match}'"
    values = {**rule.args, **(args or {})}
    for index, start in enumerate(rule.start):
        for template in start.urls:
            try:
                if templates.count(template, values) > 10_000:
                    continue  # not worth listing to guess a page type
                if url in templates.expand(template, values):
                    return start.page, start_made(index, start.page)
            except (KeyError, ValueError):
                continue
    matches = [f"{name}: '{page.match}'" for name, page in rule.pages.items() if page.match]
    fits = (
        f"no page type's match fits it ({'; '.join(matches)})"
        if matches
        else "no page type has a match"
    )
    return None, f"{fits}, and it is no start URL"


def start_made(index: int, page: str) -> str:
    """Why a start URL is parsed as its page type."""
    return f"start[{index}] makes this URL and lands on page type {page!r}"


def url_request(
    rule: Rule,
    url: str,
    args: Mapping[str, Any],
    *,
    page: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RequestSpec:
    """A request for one given URL (``scrapy seed URL``, preview): the start request that makes
    this URL when there is one (its method, body and headers), else a GET of the page type
    named, or guessed from the URL."""
    env = os.environ if environ is None else environ
    for index, spec in enumerate(rule.start):
        if page not in (None, spec.page):
            continue
        for template in spec.urls:
            try:
                if templates.count(template, args) <= 10_000 and url in templates.expand(
                    template, args
                ):
                    headers = headers_for(rule, spec, args, env)
                    return start_spec(rule, spec, url, args, MappingProxyType(headers), index)
            except (KeyError, ValueError):
                continue
    kind = page or guess_page(rule, url, args)
    headers = {
        k: expand_env(templates.substitute(v, args), env)
        for k, v in (rule.section("headers") or {}).items()
    }
    return RequestSpec(
        url=url,
        page=kind,
        headers=MappingProxyType(headers),
        priority=rule.pages[kind].priority if kind in rule.pages else 0,
        start=True,
    )


def _substitute_all(value: Any, args: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return templates.substitute(value, args)
    if isinstance(value, list):
        return [_substitute_all(v, args) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_all(v, args) for k, v in value.items()}
    return value
