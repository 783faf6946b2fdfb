"""Where proxies come from: free lists, paid lists and providers, and rule-based sources.

A source is anything with a ``name``, ``paid``, ``refresh`` (seconds between fetches, 0 = once)
and ``async fetch(session) -> list[Proxy]``; every proxy it yields carries the source's name,
so a source that yields nothing alive shows in ``scrapy proxies stats`` and can be dropped.

Sources are configured, not coded (``PROXY_POOL_SOURCES``: a list of mappings, or
``PROXY_POOL_SOURCES_FILE``: a YAML/JSON file with a ``sources:`` list)::

    sources:
      - {name: free-list, type: text, url: "https://example.org/proxies.txt", refresh: 1800}
      - {name: free-json, type: json, url: "https://example.org/proxies.json"}
      - {name: vendor, type: api, url: "https://api.vendor.example/list?key=${VENDOR_KEY}",
         refresh: 600}                                 # paid; ${VAR} comes from the environment
      - {name: mine, type: file, path: /etc/crawler/paid-proxies.txt, paid: true}
      - {name: odd-site, type: class, class: odd-site}  # a fetcher registered by name
      - {name: free-proxy-site, type: rule, rule: free_proxy_site}   # a site rule (see below)

Paid proxies can also come from ``PROXY_POOL_PAID_FILE`` (one proxy URL a line) and from the
environment variable named by ``PROXY_POOL_PAID_ENV`` (default ``PROXY_POOL_PAID_PROXIES``,
comma- or newline-separated). Credentials live only there, never in the repository.

Rule-based sources: a free-proxy site is a site rule like any other, whose items carry
``host``, ``port``, ``protocol`` (and whatever else the page tells). Crawling a rule is the
crawler's job, so whoever fetches passes a rule runner explicitly
(``fetch_sources(..., rule_runner=...)``; ``scrapy proxies fetch`` passes the crawler's);
:class:`RuleSource` turns the items into proxies with :func:`items_to_proxies`. Without a
runner (``python -m proxies fetch``) rule sources are skipped, with a line saying so.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from proxies.model import Proxy, mask_url
from proxies.parsing import SourceError, expand_env, items_to_proxies, parse_body, parse_text
from proxies.parsing import parse_json as parse_json  # re-exported
from proxies.pool_store import ProxyStore
from proxies.settings import PoolSettings

logger = logging.getLogger(__name__)

DEFAULT_PAID_ENV = "PROXY_POOL_PAID_PROXIES"


class ProxySource(Protocol):
    name: str
    paid: bool
    refresh: float

    async def fetch(self, session: aiohttp.ClientSession) -> list[Proxy]: ...


# -- sources ------------------------------------------------------------------------------
@dataclass
class UrlSource:
    """A plain-text or JSON URL of proxies; with ``paid=True``, a provider's API."""

    name: str
    url: str
    format: str = "auto"  # auto | text | json
    paid: bool = False
    refresh: float = 3600.0
    scheme: str = "http"
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0

    async def fetch(self, session: aiohttp.ClientSession) -> list[Proxy]:
        url = expand_env(self.url)
        headers = {k: expand_env(v) for k, v in self.headers.items()}
        try:
            async with asyncio.timeout(self.timeout):
                async with session.get(url, headers=headers) as resp:
                    if resp.status != 200:
                        raise SourceError(f"source {self.name!r} answered HTTP {resp.status}")
                    body = await resp.text(errors="replace")
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"source {self.name!r} failed: {type(exc).__name__}") from None
        return parse_body(body, self.format, self.name, self.paid, self.scheme)


@dataclass
class FileSource:
    """Proxies from a local file (one per line, or JSON), e.g. paid ones outside the repo."""

    name: str
    path: str
    paid: bool = False
    refresh: float = 0.0
    format: str = "auto"

    async def fetch(self, session: aiohttp.ClientSession | None = None) -> list[Proxy]:
        return self.read()

    def read(self) -> list[Proxy]:
        path = Path(expand_env(self.path)).expanduser()
        try:
            body = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"source {self.name!r}: cannot read {path}: {exc.strerror}") from None
        return parse_body(body, self.format, self.name, self.paid)


@dataclass
class EnvSource:
    """Proxies from an environment variable (comma- or newline-separated proxy URLs)."""

    name: str
    var: str = DEFAULT_PAID_ENV
    paid: bool = True
    refresh: float = 0.0

    async def fetch(self, session: aiohttp.ClientSession | None = None) -> list[Proxy]:
        return self.read()

    def read(self) -> list[Proxy]:
        return parse_text(os.environ.get(self.var, "").replace(",", "\n"), self.name, self.paid)


RuleRunner = Callable[
    [str, Mapping[str, Any]], Iterable[Mapping[str, Any]] | Awaitable[Iterable[Mapping[str, Any]]]
]
"""``runner(rule_name, args)`` returns (or resolves to) the items of a crawl of the rule."""

NO_RULE_RUNNER = (
    "no rule runner: rule sources are crawled by the crawler, use `scrapy proxies fetch`"
)


@dataclass
class RuleSource:
    """A free-proxy site crawled by its rule; items become proxies. ``fetch`` needs a runner."""

    name: str
    rule: str
    args: dict[str, Any] = field(default_factory=dict)
    paid: bool = False
    refresh: float = 3600.0

    async def fetch(
        self, session: aiohttp.ClientSession | None = None, rule_runner: RuleRunner | None = None
    ) -> list[Proxy]:
        if rule_runner is None:
            raise SourceError(f"source {self.name!r} skipped: {NO_RULE_RUNNER}")
        items = rule_runner(self.rule, dict(self.args))
        if inspect.isawaitable(items):
            items = await items
        return items_to_proxies(items, self.name, self.paid)


_fetchers: dict[str, type] = {}


def register_fetcher(name: str) -> Callable[[type], type]:
    """Register a Python fetcher class for ``type: class`` sources.

    The class is built with the source's mapping as keyword arguments (``name`` included) and
    needs ``paid``, ``refresh`` and ``async fetch(session) -> list[Proxy]``."""

    def deco(cls: type) -> type:
        _fetchers[name] = cls
        return cls

    return deco


def source_from_config(cfg: Mapping[str, Any]) -> ProxySource:
    """One source from its mapping; errors say which source and what is wrong."""
    cfg = dict(cfg)
    name = cfg.get("name")
    kind = cfg.pop("type", None)
    if not name:
        raise SourceError(f"a proxy source needs a name: {_safe_cfg(cfg)}")
    if kind is None:
        kind = (
            "file"
            if "path" in cfg
            else "rule"
            if "rule" in cfg
            else "url"
            if "url" in cfg
            else None
        )
    try:
        if kind in ("text", "json", "url", "api"):
            if "url" not in cfg:
                raise SourceError(f"source {name!r} ({kind}) needs a url")
            if kind in ("text", "json"):
                cfg.setdefault("format", kind)
            if kind == "api":
                cfg.setdefault("paid", True)
            return UrlSource(**cfg)
        if kind == "file":
            return FileSource(**cfg)
        if kind == "env":
            return EnvSource(**cfg)
        if kind == "rule":
            return RuleSource(**cfg)
        if kind == "class":
            ref = cfg.pop("class", None) or name
            cls = _fetchers.get(ref) or _import(ref)
            return cls(**cfg)
    except TypeError as exc:
        raise SourceError(f"source {name!r}: {exc}") from None
    raise SourceError(
        f"source {name!r} has unknown type {kind!r} (expected text, json, url, api, file, env, rule or class)"
    )


def _import(path: str) -> type:
    if "." not in path:
        raise SourceError(f"no fetcher registered as {path!r}")
    module, _, attr = path.rpartition(".")
    import importlib

    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise SourceError(f"cannot import fetcher {path!r}: {exc}") from None


def _safe_cfg(cfg: Mapping[str, Any]) -> str:
    return mask_url(
        json.dumps({k: v for k, v in cfg.items() if k not in ("headers", "password")}, default=str)
    )


def sources_from_settings(settings: Any) -> list[ProxySource]:
    """Every configured source: ``PROXY_POOL_SOURCES``, ``PROXY_POOL_SOURCES_FILE``, and the
    paid list from ``PROXY_POOL_PAID_FILE`` / ``PROXY_POOL_PAID_ENV``."""
    s = PoolSettings.wrap(settings)
    configs: list[Mapping[str, Any]] = []
    try:
        configs.extend(s.getlist("PROXY_POOL_SOURCES"))
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    path = s.getoptional("PROXY_POOL_SOURCES_FILE")
    if path:
        configs.extend(_read_sources_file(Path(path)))
    for i, c in enumerate(configs):
        if not isinstance(c, Mapping):
            raise SourceError(f"proxy source #{i + 1} must be a mapping with a name and a type")
    sources = [source_from_config(c) for c in configs]
    paid_file = s.getoptional("PROXY_POOL_PAID_FILE")
    if paid_file:
        sources.append(FileSource("paid-file", str(paid_file), paid=True))
    var = s.get("PROXY_POOL_PAID_ENV")
    if var and os.environ.get(var):
        sources.append(EnvSource("paid-env", var, paid=True))
    names = [s.name for s in sources]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SourceError(f"proxy source names must be unique: {', '.join(sorted(dupes))}")
    return sources


def _read_sources_file(path: Path) -> list[Mapping[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read PROXY_POOL_SOURCES_FILE {path}: {exc.strerror}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ValueError as exc:  # yaml.YAMLError is not one: caught below
        raise SourceError(f"{path}: not valid JSON: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a YAML error: say where
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise SourceError(
            f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if isinstance(data, dict):
        data = data.get("sources", [])
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a list of sources (or a mapping with 'sources:')")
    return data


def load_paid(settings: Any) -> list[Proxy]:
    """Paid proxies, credentials included, from ``PROXY_POOL_PAID_FILE`` and the environment
    (synchronously: the HTTP-API client pool uses these to put credentials back)."""
    s = PoolSettings.wrap(settings)
    out: list[Proxy] = []
    paid_file = s.getoptional("PROXY_POOL_PAID_FILE")
    if paid_file:
        out.extend(FileSource("paid-file", str(paid_file), paid=True).read())
    if s.get("PROXY_POOL_PAID_ENV"):
        out.extend(EnvSource("paid-env", s.get("PROXY_POOL_PAID_ENV")).read())
    return out


# -- fetching -----------------------------------------------------------------------------
@dataclass
class FetchReport:
    source: str
    found: int = 0
    added: int = 0
    error: str = ""
    skipped: bool = False  # a rule source fetched without a rule runner


async def fetch_sources(
    sources: Iterable[ProxySource],
    store: ProxyStore | None = None,
    timeout: float = 30.0,
    rule_runner: RuleRunner | None = None,
) -> tuple[list[Proxy], list[FetchReport]]:
    """Fetch every source concurrently; add what they yield to ``store`` (when given). Rule
    sources need ``rule_runner``; without one they are reported as skipped."""
    sources = list(sources)
    reports = [FetchReport(s.name) for s in sources]
    found: list[Proxy] = []

    def one(source: ProxySource, session: aiohttp.ClientSession) -> Awaitable[list[Proxy]]:
        if isinstance(source, RuleSource):
            return source.fetch(session, rule_runner=rule_runner)
        return source.fetch(session)

    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), trust_env=False
    ) as session:
        results = await asyncio.gather(*(one(s, session) for s in sources), return_exceptions=True)
    for source, report, result in zip(sources, reports, results, strict=True):
        if isinstance(result, BaseException):
            report.error = (
                str(result) if isinstance(result, SourceError) else f"{type(result).__name__}"
            )
            report.skipped = isinstance(source, RuleSource) and rule_runner is None
            if not report.skipped:
                logger.warning("proxy source %s failed: %s", source.name, report.error)
            continue
        report.found = len(result)
        found.extend(result)
        if store is not None:
            report.added = store.add(result)
    if store is not None:
        store.flush()
    return found, reports


class SourceSchedule:
    """Which sources are due: each one every ``refresh`` seconds (0: only the first time)."""

    def __init__(self, sources: Iterable[ProxySource]) -> None:
        self.sources = list(sources)
        self.next_at: dict[str, float] = {s.name: 0.0 for s in self.sources}

    def due(self, now: float | None = None) -> list[ProxySource]:
        now = time.time() if now is None else now
        return [s for s in self.sources if self.next_at[s.name] <= now]

    def done(self, source: ProxySource, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.next_at[source.name] = now + source.refresh if source.refresh > 0 else float("inf")

    def seconds_to_next(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        upcoming = [t for t in self.next_at.values() if t != float("inf")]
        return max(0.0, min(upcoming) - now) if upcoming else float("inf")
