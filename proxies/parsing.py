"""Turning what a source returns into proxies: plain text, JSON, items of a rule crawl.

Every parser skips what is not a proxy (a source page holds more than its list) and keeps the
first of duplicates. ``${NAME}`` in a source's URL or headers comes from the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from proxies.model import Proxy


class SourceError(Exception):
    """A source cannot be configured or fetched; the message is safe to show."""


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
