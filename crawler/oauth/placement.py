"""A token on a request and off it again, a token out of any other URL, and how a provider says
a token has expired.

>>> url = with_query_token("https://api.test/items?page=2", "access_token", "T0KEN")
>>> url
'https://api.test/items?page=2&access_token=T0KEN'
>>> without_query_token(url, "access_token")
'https://api.test/items?page=2'
>>> expired_answer(200, b'{"errcode": 42001, "errmsg": "access_token expired"}', (401,), (42001,))
True
>>> expired_answer(200, b'{"items": []}', (401,), (42001,)), expired_answer(401, b"", (401,), ())
(False, True)

A URL that echoes a token (a redirect's ``Location`` built from the query string, a link) loses
every query parameter holding one, and a fragment holding one; a token elsewhere (the path, the
host) stays, which :func:`holds_secret` tells, and the caller refuses the URL:

>>> scrubbed("https://other.test/p?page=2&token=T0KEN&x=1", {"T0KEN"})
'https://other.test/p?page=2&x=1'
>>> scrubbed("https://other.test/p?page=2", {"T0KEN"}, names={"openid"})
'https://other.test/p?page=2'
>>> holds_secret(scrubbed("https://other.test/T0KEN/?a=T0KEN", {"T0KEN"}), {"T0KEN"})
True
"""

from __future__ import annotations

import json
from collections.abc import Collection
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

MAX_ERROR_BODY = 64 * 1024  # an errcode answer is small; a bigger body is a page, not an error


def with_query_token(url: str, param: str, token: str, extra: dict[str, str] | None = None) -> str:
    parts = urlsplit(url)
    names = {param, *(extra or {})}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    query += [*(extra or {}).items(), (param, token)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def without_query_token(url: str, param: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    return urlunsplit(parts._replace(query=urlencode(query)))


def holds_secret(text: str, secrets: Collection[str]) -> bool:
    """Whether any of ``secrets`` is in ``text``, as written or percent-decoded."""
    if not secrets:
        return False
    variants = {text, unquote(text), unquote_plus(text)}
    return any(secret in variant for secret in secrets for variant in variants)


def scrubbed(url: str, secrets: Collection[str], names: Collection[str] = ()) -> str:
    """``url`` without the query parameters named ``names`` or holding one of ``secrets``, and
    without a fragment holding one; the same string when there is nothing to take out."""
    parts = urlsplit(url)
    fragment = "" if holds_secret(parts.fragment, secrets) else parts.fragment
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [
        (k, v)
        for k, v in query
        if k not in names and not holds_secret(k, secrets) and not holds_secret(v, secrets)
    ]
    if len(kept) == len(query) and fragment == parts.fragment:
        return url
    new_query = urlencode(kept) if len(kept) != len(query) else parts.query
    return urlunsplit(parts._replace(query=new_query, fragment=fragment))


def errcode_of(body: bytes) -> int | None:
    """The ``errcode`` of a small JSON object body (WeChat's way of saying an error)."""
    if len(body) > MAX_ERROR_BODY or not body.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    code = data.get("errcode") if isinstance(data, dict) else None
    return code if isinstance(code, int) else None


def expired_answer(
    status: int, body: bytes, statuses: tuple[int, ...], errcodes: tuple[int, ...]
) -> bool:
    if status in statuses:
        return True
    return bool(errcodes) and errcode_of(body) in errcodes
