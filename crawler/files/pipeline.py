"""FilesPipeline: the files of a rule's ``files:`` fields, fetched through the crawl itself.

An item of a page type with a files field carries the links (the field: absolute URLs) and the
field's ask (``_files``: field name -> types, max size, text, max files; taken off here). Each
file is requested through Scrapy's engine (``engine.download_async``, as Scrapy's own
FilesPipeline does): the same downloader middlewares as the pages (proxies, sessions and
cookies, user agents, bans, retries, redirects, the rule's URL guard), with the field's max size
as the request's ``download_maxsize``, so a bigger body is cut off by the downloader, never read
whole. The item waits for its files; the field becomes a list of file records (docs/files.md).

A file linked again (by another item, or twice) is fetched once per crawl while its record is
remembered (``FILES_MEMO_URLS``, the latest); its content is stored once whatever its URL (the
store is keyed by the SHA-256).

Stats: ``files/downloaded`` (new content stored), ``files/reused`` (content the store had, or a
file linked again), ``files/bytes`` (bytes of the files kept), ``files/refused`` and
``files/refused/<reason>``, ``files/failed`` and ``files/failed/<reason>`` (``http_404``,
``DownloadTimeoutError``, ``offsite`` or ``ignored`` by a middleware, ``store_error``...),
``files/text_failed``. A file is fetched as the pages are: on the rule's allowed domains (the
offsite middleware), never from a private address other than the rule's own start origins.
Every refused or failed file is logged once (a WARNING for the first of each reason, INFO after)
and its record says why (``error``, ``detail``): none is lost silently.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.asyncio import is_asyncio_available
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.core.sites import META_SITE
from crawler.core.switches import off
from crawler.files.names import name_from, sanitise_name, url_name
from crawler.files.policy import FileLimits, FilePolicy, Refused, keep
from crawler.files.store import FileStore, file_store_from_settings
from vocab import mask_url

logger = logging.getLogger(__name__)

META = "files_field"  # marks a file's request (a middleware may tell it from a page's)
FILES_KEY = "_files"


def failure_reason(exc: BaseException) -> str:
    """A short stat key for a failed download; ``too_large`` for a body cut off at its max
    size, or inflated beyond it (Scrapy says so only in its messages: tests pin them).

    >>> failure_reason(IgnoreRequest("... exceeded DOWNLOAD_MAXSIZE (5 B) during decompression."))
    'too_large'
    >>> failure_reason(IgnoreRequest("Filtered offsite request to 'x.test'"))
    'offsite'
    """
    text = str(exc)
    if isinstance(exc, DownloadCancelledError) or "max size" in text or "DOWNLOAD_MAXSIZE" in text:
        return "too_large"
    if isinstance(exc, IgnoreRequest):  # a downloader middleware's refusal
        return "offsite" if "offsite" in text else "ignored"
    return type(exc).__name__


class FilesPipeline:
    def __init__(self, crawler: Any, store: FileStore, limits: FileLimits) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.store = store
        self.limits = limits
        self.memo: OrderedDict[tuple, Any] = OrderedDict()
        self._logged: set[str] = set()
        self.lock = threading.Lock()  # store.has + store.put, one file at a time

    @classmethod
    def from_crawler(cls, crawler: Any) -> FilesPipeline:
        settings = crawler.settings
        if not settings.getbool("FILES_ENABLED"):
            raise off("FilesPipeline", "FILES_ENABLED is off")
        return cls(crawler, file_store_from_settings(settings), FileLimits.from_settings(settings))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, dict) or FILES_KEY not in item:
            return item
        asks = item.pop(FILES_KEY)
        if not isinstance(asks, dict):
            return item
        referer = item.get("_url") if isinstance(item.get("_url"), str) else None
        # a crawl of many sites: the site's rule answers the middlewares (its URL guard...)
        site = item.get("_rule") if hasattr(self.crawler.spider, "site_of") else None
        for name, asked in asks.items():
            value = item.get(name)
            urls = [value] if isinstance(value, str) else value
            if not isinstance(urls, list) or not isinstance(asked, dict):
                continue
            urls = list(dict.fromkeys(u for u in urls if isinstance(u, str) and u))
            policy = FilePolicy.of(asked, self.limits)
            wanted, beyond = urls[: policy.max_files], urls[policy.max_files :]
            records = await _gather([self.record(url, policy, referer, site) for url in wanted])
            for url in beyond:
                detail = f"the field takes {policy.max_files} file(s) per item"
                records.append(self._refused(url, sanitise_name(url_name(url)), "too_many", detail))
            item[name] = records
        return item

    async def record(
        self, url: str, policy: FilePolicy, referer: str | None, site: str | None = None
    ) -> dict[str, Any]:
        """The record of the file at ``url``: fetched once while it is remembered."""
        if self.limits.memo <= 0 or not is_asyncio_available():
            return await self.fetch(url, policy, referer, site)
        key = (url, policy, site)
        task = self.memo.get(key)
        if task is not None:
            self.memo.move_to_end(key)
            record = dict(await task)
            if "error" not in record:
                self.stats.inc_value("files/reused")
            return record
        task = self.memo[key] = asyncio.ensure_future(self.fetch(url, policy, referer, site))
        while len(self.memo) > self.limits.memo:
            self.memo.popitem(last=False)
        return dict(await task)

    async def fetch(
        self, url: str, policy: FilePolicy, referer: str | None, site: str | None = None
    ) -> dict[str, Any]:
        name = sanitise_name(url_name(url))
        if not url.lower().startswith(("http://", "https://")):
            scheme = url.partition(":")[0][:20]
            return self._refused(url, name, "scheme", f"a {scheme}: link; files are http(s) only")
        try:
            request = Request(
                url,
                callback=NO_CALLBACK,
                headers={"Referer": referer} if referer else None,
                meta={
                    "download_maxsize": policy.max_bytes,
                    "download_warnsize": policy.max_bytes // 2,
                    META: True,
                    **({META_SITE: site} if isinstance(site, str) else {}),
                },
            )
        except ValueError as exc:
            return self._failed(url, name, "bad_url", str(exc))
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # any download error: counted, in the record
            reason = failure_reason(exc)
            if reason == "too_large":
                detail = f"over {policy.max_bytes:,} bytes: cut off by the downloader"
                return self._refused(url, name, reason, detail)
            return self._failed(url, name, reason, str(exc))
        if not 200 <= response.status < 300:
            return self._failed(url, name, f"http_{response.status}", f"HTTP {response.status}")
        disposition = response.headers.get(b"Content-Disposition")
        name = name_from(disposition, response.url) if disposition else name
        if not disposition and response.url != url:  # redirected: the file's own URL names it
            name = sanitise_name(url_name(response.url) or name)
        body = response.body
        del response
        try:
            kept = await maybe_deferred_to_future(
                deferToThread(keep, body, name, policy, self.limits, self.store, self.lock)
            )
        except Refused as exc:
            return self._refused(url, name, exc.reason, exc.detail)
        except (OSError, ValueError) as exc:
            return self._failed(url, name, "store_error", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a file no check foresaw must not take its item down
            logger.exception("examining %s failed", mask_url(url)[:300])
            return self._failed(url, name, type(exc).__name__, str(exc))
        self.stats.inc_value("files/downloaded" if kept.new else "files/reused")
        self.stats.inc_value("files/bytes", len(body))
        if kept.text_error is not None:
            self.stats.inc_value("files/text_failed")
            self._log("text_failed", f"no text read from {mask_url(url)}: {kept.text_error}")
        return {"url": url, **kept.record}

    def _refused(self, url: str, name: str, reason: str, detail: str) -> dict[str, Any]:
        return self._lost("refused", url, name, reason, detail)

    def _failed(self, url: str, name: str, reason: str, detail: str) -> dict[str, Any]:
        return self._lost("failed", url, name, reason, detail)

    def _lost(self, kind: str, url: str, name: str, reason: str, detail: str) -> dict[str, Any]:
        detail = mask_url(detail)[:300]
        self.stats.inc_value(f"files/{kind}")
        self.stats.inc_value(f"files/{kind}/{reason}")
        self._log(f"{kind}/{reason}", f"file {kind} ({reason}: {detail}): {mask_url(url)[:300]}")
        return {"url": url, "name": name, "error": reason, "detail": detail}

    def _log(self, key: str, message: str) -> None:
        level = logging.INFO if key in self._logged else logging.WARNING
        self._logged.add(key)
        logger.log(level, "%s", message)


async def _gather(coros: list[Awaitable[dict[str, Any]]]) -> list[dict[str, Any]]:
    if is_asyncio_available():
        return list(await asyncio.gather(*coros))
    return [await coro for coro in coros]
