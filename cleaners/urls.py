"""URL cleaners."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from cleaners.registry import CleanContext, CleanError, cleaner, preview


@cleaner("absolute_url")
def absolute_url(value: Any, *, ctx: CleanContext | None = None) -> Any:
    """Resolve a link against the page URL (``ctx.url``); absolute links are kept as they are.

    A relative link with no page URL to resolve it against is an error.

    >>> page = CleanContext(url="https://books.example/catalogue/page-2.html")
    >>> absolute_url(" ../media/cover.jpg ", ctx=page)
    'https://books.example/media/cover.jpg'
    >>> absolute_url("//cdn.example/a.png", ctx=page)
    'https://cdn.example/a.png'
    >>> absolute_url("https://other.example/x", ctx=page)
    'https://other.example/x'
    """
    if not isinstance(value, str):
        return value
    link = value.strip()
    if urlsplit(link).scheme:
        return link
    base = ctx.url if ctx is not None else None
    if not base:
        raise CleanError(f"cannot make {preview(link)} absolute: no page URL in the context")
    return urljoin(base, link)
