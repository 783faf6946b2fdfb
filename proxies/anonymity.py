"""Reading the judge's answer: what it saw of a request, and how anonymous that makes a proxy.

The judge (``proxies.judge``) answers JSON ``{"remote_addr": ..., "headers": {...}}``. Other
judges answer other shapes: headers as a list of pairs, plain text, HTML, JSON cut short.
:func:`parse_answer` turns any body into a :class:`JudgeAnswer` or None (a shape it cannot read),
and never raises: a judge's odd shape leaves anonymity unknown, it does not crash a check.

>>> parse_answer(b'{"remote_addr": "5.6.7.8", "headers": [["Via", "1.1 x"]]}').headers
{'via': '1.1 x'}
>>> parse_answer(b'{"remote_addr": "5.6.7.8", "head') is None
True
>>> parse_answer(b"<html>your address: 5.6.7.8</html>") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from proxies.model import Anonymity

# Headers a proxy adds that reveal it, or the client behind it.
PROXY_HEADERS = frozenset(
    (
        "via",
        "x-forwarded-for",
        "forwarded",
        "x-real-ip",
        "client-ip",
        "x-client-ip",
        "x-proxy-id",
        "proxy-connection",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-tinyproxy",
        "x-originating-ip",
        "true-client-ip",
        "proxy-client-ip",
        "wl-proxy-client-ip",
    )
)
MAX_ANSWER = 256 * 1024  # bytes of a judge's answer that are read


@dataclass
class JudgeAnswer:
    """What the judge saw: the client address and the request headers (names lower-cased)."""

    remote_addr: str | None
    headers: dict[str, str] = field(default_factory=dict)


def parse_answer(body: bytes) -> JudgeAnswer | None:
    """A judge answer from a body, or None when the body is not one (of any known shape)."""
    try:
        data = orjson.loads(body)
    except (orjson.JSONDecodeError, TypeError):
        return None
    if not isinstance(data, dict) or "headers" not in data:
        return None
    headers = _headers(data["headers"])
    if headers is None:
        return None
    addr = data.get("remote_addr")
    return JudgeAnswer(str(addr) if isinstance(addr, str | int) else None, headers)


def _headers(raw: Any) -> dict[str, str] | None:
    pairs: Iterable[Any]
    if isinstance(raw, dict):
        pairs = raw.items()
    elif isinstance(raw, list):
        pairs = raw
    else:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            return None
        name, value = pair
        if not isinstance(name, str):
            return None
        name = name.lower()
        value = value if isinstance(value, str) else str(value)
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def classify(answer: dict[str, Any] | JudgeAnswer, own_addresses: Iterable[str]) -> Anonymity:
    """Anonymity from the judge's answer.

    >>> classify({"remote_addr": "5.6.7.8", "headers": {}}, {"1.2.3.4"}).label
    'elite'
    >>> classify({"remote_addr": "5.6.7.8", "headers": {"Via": "1.1 squid"}}, {"1.2.3.4"}).label
    'anonymous'
    >>> classify({"remote_addr": "5.6.7.8", "headers": {"X-Forwarded-For": "1.2.3.4"}}, {"1.2.3.4"}).label
    'transparent'
    """
    if not isinstance(answer, JudgeAnswer):
        answer = JudgeAnswer(answer.get("remote_addr"), _headers(answer.get("headers") or {}) or {})
    own = set(own_addresses)
    if answer.remote_addr in own:
        return Anonymity.TRANSPARENT
    revealing = [v for k, v in answer.headers.items() if k in PROXY_HEADERS]
    for value in revealing:
        if own & _address_tokens(value):
            return Anonymity.TRANSPARENT
    return Anonymity.ANONYMOUS if revealing else Anonymity.ELITE


_SPLIT = re.compile(r"[,;\s]+")


def _address_tokens(value: str) -> set[str]:
    tokens = set()
    for part in _SPLIT.split(value):
        part = part.strip().strip('"')
        if "=" in part:
            part = part.split("=", 1)[1].strip('"')
        if part.startswith("["):  # [v6]:port
            part = part[1:].split("]", 1)[0]
        elif part.count(":") == 1:  # v4:port
            part = part.split(":", 1)[0]
        if part:
            tokens.add(part)
    return tokens
