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
``host``, ``port``, ``protocol`` (and whatever else the page tells). The crawler registers how
to run a rule with :func:`register_rule_runner`; :class:`RuleSource` then turns the items into
proxies with :func:`items_to_proxies`. The pool does not depend on the crawler for this.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from proxies.model import Proxy, mask_url
from proxies.store import ProxyStore

logger = logging.getLogger(__name__)

DEFAULT_PAID_ENV = "PROXY_POOL_PAID_PROXIES"


class ProxySource(Protocol):
    name: str
    paid: bool
    refresh: float

    async def fetch(self, session: aiohttp.ClientSession) -> list[Proxy]: ...


class SourceError(Exception):
    """A source cannot be configured or fetched; the message is safe to show."""


# -- parsing ------------------------------------------------------------------------------
_LINE_RE = re.compile(
    r"^(?:(?P<scheme>https?|socks[45])://)?(?:(?P<auth>[^\s@/]+)@)?(?P<host>[^\s:/@]+):(?P<port>\d{1,5})$"
)


def parse_text(
    text: str, source: str = "", paid: bool = False, scheme: str = "http"
) -> list[Proxy]:
    """Proxies from plain text: one ``[scheme://][user:pass@]host:port`` per line (comments
    with ``#``); lines that are not proxies are skipped.

    >>> [p.address for p in parse_text("1.2.3.4:80\\n# note\\nnot a proxy\\n5.6.7.8:3128")]
    ['1.2.3.4:80', '5.6.7.8:3128']
    """
    out: list[Proxy] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        for token in re.split(r"[\s,;]+", line):
            m = _LINE_RE.match(token)
            if not m:
                continue
            try:
                proxy = Proxy.parse(
                    token if m.group("scheme") else f"{scheme}://{token}", source=source, paid=paid
                )
            except ValueError:
                continue
            if 0 < proxy.port < 65536:
                out.append(proxy)
    return _dedupe(out)


def items_to_proxies(
    items: Iterable[Mapping[str, Any]], source: str = "", paid: bool = False
) -> list[Proxy]:
    """Proxies from items (a rule's output or a JSON list): ``host``/``ip``, ``port``,
    ``protocol``/``scheme``/``type`` (``http``, ``https``, ``socks5``, ``"HTTP, HTTPS"``), and
    optional ``username``/``password``. An ``https`` protocol means an HTTP proxy that
    tunnels (CONNECT), so its scheme stays ``http``.

    >>> items_to_proxies([{"ip": "1.2.3.4", "port": "8080", "protocol": "HTTPS"}])[0].url
    'http://1.2.3.4:8080'
    """
    out: list[Proxy] = []
    for item in items:
        if isinstance(item, str):
            out.extend(parse_text(item, source, paid))
            continue
        host = item.get("host") or item.get("ip") or item.get("addr") or item.get("address")
        port = item.get("port")
        if host and not port and ":" in str(host):
            host, port = str(host).rsplit(":", 1)
        try:
            port = int(str(port).strip())
        except (TypeError, ValueError):
            continue
        if not host or not 0 < port < 65536:
            continue
        protocol = str(
            item.get("protocol") or item.get("scheme") or item.get("type") or "http"
        ).lower()
        scheme = next((s for s in ("socks5", "socks4") if s in protocol), "http")
        out.append(
            Proxy(
                host=str(host).strip(),
                port=port,
                scheme=scheme,
                username=item.get("username") or None,
                password=item.get("password") or None,
                source=source,
                paid=paid,
            )
        )
    return _dedupe(out)


def parse_json(data: Any, source: str = "", paid: bool = False) -> list[Proxy]:
    """Proxies from JSON: a list of strings or objects, or an object holding such a list
    (under ``data``, ``proxies``, ``items``, ``result`` or its first list value)."""
    if isinstance(data, dict):
        for key in ("data", "proxies", "items", "result", "list"):
            if isinstance(data.get(key), list | dict):
                return parse_json(data[key], source, paid)
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if lists else [data]
    if not isinstance(data, list):
        return []
    return items_to_proxies(data, source, paid)


def parse_body(body: str, fmt: str, source: str, paid: bool, scheme: str = "http") -> list[Proxy]:
    if fmt == "json" or (fmt == "auto" and body.lstrip()[:1] in ("[", "{")):
        try:
            return parse_json(json.loads(body), source, paid)
        except ValueError:
            if fmt == "json":
                raise SourceError(f"source {source!r} did not return JSON") from None
    return parse_text(body, source, paid, scheme)


def _dedupe(proxies: list[Proxy]) -> list[Proxy]:
    seen: dict[str, Proxy] = {}
    for p in proxies:
        seen.setdefault(p.key, p)
    return list(seen.values())


_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str, env: Mapping[str, str] | None = None) -> str:
    """``${NAME}`` from the environment; a missing variable is an error naming it (not values)."""
    env = os.environ if env is None else env

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            raise SourceError(f"environment variable {m.group(1)} is not set")
        return env[m.group(1)]

    return _ENV_RE.sub(sub, text)


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
_rule_runner: RuleRunner | None = None


def register_rule_runner(runner: RuleRunner | None) -> None:
    """How to crawl a site rule and get its items: set by the crawler (the pool never imports
    it). ``runner(rule_name, args)`` returns (or resolves to) the rule's items; ``args`` are the
    rule's ``-a`` arguments from the source's configuration."""
    global _rule_runner
    _rule_runner = runner


@dataclass
class RuleSource:
    """A free-proxy site crawled by its rule; items become proxies."""

    name: str
    rule: str
    args: dict[str, Any] = field(default_factory=dict)
    paid: bool = False
    refresh: float = 3600.0
    runner: RuleRunner | None = None

    async def fetch(self, session: aiohttp.ClientSession | None = None) -> list[Proxy]:
        runner = self.runner or _rule_runner
        if runner is None:
            raise SourceError(
                f"source {self.name!r} is a rule ({self.rule!r}) but no rule runner is registered "
                "(proxies.sources.register_rule_runner)"
            )
        items = runner(self.rule, dict(self.args))
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
    configs: list[Mapping[str, Any]] = []
    value = settings.get("PROXY_POOL_SOURCES")
    if isinstance(value, str) and value.strip():
        value = json.loads(value)
    configs.extend(value or [])
    path = settings.get("PROXY_POOL_SOURCES_FILE")
    if path:
        configs.extend(_read_sources_file(Path(path)))
    sources = [source_from_config(c) for c in configs]
    paid_file = settings.get("PROXY_POOL_PAID_FILE")
    if paid_file:
        sources.append(FileSource("paid-file", str(paid_file), paid=True))
    var = settings.get("PROXY_POOL_PAID_ENV") or DEFAULT_PAID_ENV
    if os.environ.get(var):
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
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if isinstance(data, dict):
        data = data.get("sources", [])
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a list of sources (or a mapping with 'sources:')")
    return data


def load_paid(settings: Any) -> list[Proxy]:
    """Paid proxies, credentials included, from ``PROXY_POOL_PAID_FILE`` and the environment
    (synchronously: the HTTP-API client pool uses these to put credentials back)."""
    out: list[Proxy] = []
    paid_file = settings.get("PROXY_POOL_PAID_FILE")
    if paid_file:
        out.extend(FileSource("paid-file", str(paid_file), paid=True).read())
    out.extend(
        EnvSource("paid-env", settings.get("PROXY_POOL_PAID_ENV") or DEFAULT_PAID_ENV).read()
    )
    return out


# -- fetching -----------------------------------------------------------------------------
@dataclass
class FetchReport:
    source: str
    found: int = 0
    added: int = 0
    error: str = ""


async def fetch_sources(
    sources: Iterable[ProxySource],
    store: ProxyStore | None = None,
    timeout: float = 30.0,
) -> tuple[list[Proxy], list[FetchReport]]:
    """Fetch every source concurrently; add what they yield to ``store`` (when given)."""
    sources = list(sources)
    reports = [FetchReport(s.name) for s in sources]
    found: list[Proxy] = []
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), trust_env=False
    ) as session:
        results = await asyncio.gather(*(s.fetch(session) for s in sources), return_exceptions=True)
    for source, report, result in zip(sources, reports, results, strict=True):
        if isinstance(result, BaseException):
            report.error = (
                str(result) if isinstance(result, SourceError) else f"{type(result).__name__}"
            )
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
