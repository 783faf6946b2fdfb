"""A token on a request and off it again, and how a provider says a token has expired.

>>> url = with_query_token("https://api.test/items?page=2", "access_token", "T0KEN")
>>> url
'https://api.test/items?page=2&access_token=T0KEN'
>>> without_query_token(url, "access_token")
'https://api.test/items?page=2'
>>> expired_answer(200, b'{"errcode": 42001, "errmsg": "access_token expired"}', (401,), (42001,))
True
>>> expired_answer(200, b'{"items": []}', (401,), (42001,)), expired_answer(401, b"", (401,), ())
(False, True)
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
