"""The download handler of impersonation: http and https through curl_cffi, as a browser.

Installed by :class:`crawler.antiban.impersonate.Impersonation` (``IMPERSONATE``, a rule's
``antiban.impersonate``). It builds on scrapy-impersonate's handler (its parsers turn a Scrapy
request into curl_cffi's arguments, ``meta["impersonate_args"]`` and
``meta["impersonate_curl_options"]`` included) and changes what the platform needs:

- **The browser's own headers.** A request carries only what the crawl chose for it (cookies,
  the referer, a rule's headers, ``USER_AGENT_ACCEPT_LANGUAGE``, the profile's
  ``Sec-Fetch-Site``, a User-Agent the spider set itself); the headers that stand for
  a browser (the user-agent profile's, Scrapy's ``DEFAULT_REQUEST_HEADERS``, the
  ``Accept-Encoding`` of the compression middleware) are left to curl_cffi, which sends the
  target's own, in the target's order, and decodes what it asked for.
- **Cookies once.** Scrapy's cookie middleware already wrote the ``Cookie`` header; curl_cffi is
  not handed the request's cookies a second time, and keeps no jar between requests (a session
  per download), so cookie sessions stay Scrapy's.
- **Proxies.** ``meta["proxy"]`` goes to curl_cffi: http, https, socks4 and socks5 (the schemes the proxy pool knows). The
  credentials Scrapy's proxy middleware moved into ``Proxy-Authorization`` go to libcurl as the
  proxy's user name and password (so a password may hold ``:``), never to the site.
- **Scrapy's limits and errors.** ``download_timeout``, ``DOWNLOAD_MAXSIZE``; curl's errors
  become the exceptions Scrapy's handler raises (timeouts, refused connections, tunnels, lost
  connections), so the retry and ban middlewares judge them as they judge Scrapy's own.
- **Other requests.** Requests without ``meta["impersonate"]`` and pages a browser renders
  (``meta["playwright"]``) go to ``IMPERSONATE_OTHER_HANDLER`` (the render add-on's handler when
  rendering is on) or Scrapy's own.

Redirects are not followed here (Scrapy's redirect middleware does), certificates are checked
only with ``IMPERSONATE_VERIFY``.
"""

from __future__ import annotations

import base64
import time
from binascii import Error as Base64Error
from typing import Any
from urllib.parse import unquote

from curl_cffi import CurlECode, CurlOpt
from curl_cffi.requests import AsyncSession
from curl_cffi.requests.exceptions import RequestException
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, TunnelError
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy_impersonate import ImpersonateDownloadHandler
from scrapy_impersonate.parser import CurlOptionsParser, RequestParser

# Headers curl_cffi sends for its target (a browser's), unless the request has its own.
BROWSER_HEADERS = (b"Accept-Encoding",)
# What the user-agent profile knows better than curl_cffi's fixed headers, sent in the target's
# place: the crawl's language, and whether the navigation came from the same site (curl_cffi
# always says "none", which a browser sends only for an address typed in).
FROM_PROFILE = ("accept-language", "sec-fetch-site")
_ERRORS: dict[int, type[Exception]] = {
    CurlECode.OPERATION_TIMEDOUT: DownloadTimeoutError,
    CurlECode.COULDNT_RESOLVE_HOST: CannotResolveHostError,
    CurlECode.COULDNT_RESOLVE_PROXY: CannotResolveHostError,
    CurlECode.COULDNT_CONNECT: DownloadConnectionRefusedError,
    CurlECode.PARTIAL_FILE: ResponseDataLossError,
    CurlECode.FILESIZE_EXCEEDED: DownloadCancelledError,
}


class ImpersonateHandler(ImpersonateDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.stats = crawler.stats
        self.verify = settings.getbool("IMPERSONATE_VERIFY")
        self.maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        self.default_timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        defaults = settings.getdict("DEFAULT_REQUEST_HEADERS")
        self.defaults = {_bytes(k).lower(): _bytes(v) for k, v in defaults.items()}
        other = settings.get("IMPERSONATE_OTHER_HANDLER")
        self.other = build_from_crawler(load_object(other), crawler) if other else None

    async def download_request(self, request: Request) -> Response:  # type: ignore[override]
        if request.meta.get("impersonate") and not request.meta.get("playwright"):
            return await self.impersonated(request)
        if self.other is not None:
            return await self.other.download_request(request)
        return await HTTP11DownloadHandler.download_request(self, request)

    async def close(self) -> None:  # type: ignore[override]
        if self.other is not None:
            await self.other.close()
        await super().close()

    async def impersonated(self, request: Request) -> Response:
        sent = request.copy()  # what curl_cffi gets; the request itself keeps its headers
        proxy_auth = sent.headers.pop(b"Proxy-Authorization", None)
        self.leave_to_browser(sent)
        options = CurlOptionsParser(sent).as_dict()
        if proxy_auth:
            options.update(_proxy_credentials(_bytes(proxy_auth)))
        maxsize = request.meta.get("download_maxsize", self.maxsize)
        if maxsize:
            options.setdefault(CurlOpt.MAXFILESIZE_LARGE, maxsize)
        args = RequestParser(sent).as_dict()
        timeout = request.meta.get("download_timeout") or self.default_timeout
        args.update(cookies=None, timeout=timeout, verify=self.verify)
        args.update(request.meta.get("impersonate_args") or {})
        start = time.monotonic()
        try:
            async with AsyncSession(max_clients=1, curl_options=options) as session:
                answer = await session.request(**args)
        except RequestException as exc:
            # Not chained: the ban policy judges a download error by what it wraps first.
            raise scrapy_error(exc, request, timeout, maxsize) from None
        if maxsize and len(answer.content) > maxsize:
            raise DownloadCancelledError(_too_large(request, len(answer.content), maxsize))
        self.stats.inc_value("antiban/impersonate/requests")
        return self.response(request, answer, time.monotonic() - start)

    def leave_to_browser(self, sent: Request) -> None:
        """Drop the headers that stand for a browser: curl_cffi sends the target's."""
        for name in sent.meta.get("antiban_profile_headers", ()):
            if name.lower() not in FROM_PROFILE:
                sent.headers.pop(name, None)
        for name in BROWSER_HEADERS:
            sent.headers.pop(name, None)
        for name, value in self.defaults.items():
            if sent.headers.get(name) == value:
                sent.headers.pop(name, None)

    def response(self, request: Request, answer: Any, latency: float) -> Response:
        headers = Headers(answer.headers.multi_items())
        # curl_cffi decoded the body: what described the encoded one no longer holds.
        headers.pop(b"Content-Encoding", None)
        headers.pop(b"Content-Length", None)
        body = answer.content
        cls = responsetypes.from_args(headers=headers, url=answer.url, body=body)
        response = cls(
            url=answer.url,
            status=answer.status_code,
            headers=headers,
            body=body,
            flags=["impersonate"],
            request=request,
            protocol=_protocol(answer),
        )
        response.meta["download_latency"] = latency
        return response


def _bytes(value: Any) -> bytes:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else b""
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


def _proxy_credentials(header: bytes) -> dict[int, bytes]:
    """libcurl's proxy user name and password from a Basic ``Proxy-Authorization`` header."""
    scheme, _, token = header.partition(b" ")
    if scheme.lower() != b"basic":
        return {CurlOpt.PROXYHEADER: [b"Proxy-Authorization: " + header]}
    try:
        user, _, password = base64.b64decode(token.strip()).partition(b":")
    except (Base64Error, ValueError):
        return {}
    return {CurlOpt.PROXYUSERNAME: user, CurlOpt.PROXYPASSWORD: password}


def _protocol(answer: Any) -> str | None:
    version = getattr(answer, "http_version", None)
    return {1: "HTTP/1.0", 2: "HTTP/1.1", 3: "h2", 4: "h2"}.get(int(version or 0))


def _too_large(request: Request, size: int | None, maxsize: int) -> str:
    size_text = f"size ({size}) " if size is not None else ""
    return (
        f"Cancelling download of {request.url}: received response {size_text}larger than "
        f"download max size (DOWNLOAD_MAXSIZE={maxsize})"
    )


def scrapy_error(
    exc: RequestException, request: Request, timeout: float, maxsize: int
) -> Exception:
    """The exception Scrapy's own handler raises for what curl reported."""
    code = getattr(exc, "code", 0) or 0
    message = str(exc).split(" See https://curl.se/")[0]
    if code == CurlECode.OPERATION_TIMEDOUT:
        return DownloadTimeoutError(f"Getting {request.url} took longer than {timeout} seconds.")
    if code == CurlECode.FILESIZE_EXCEEDED:
        return DownloadCancelledError(_too_large(request, None, maxsize))
    if "CONNECT tunnel failed" in message or code == CurlECode.PROXY:  # a SOCKS handshake too
        proxy = unquote(str(request.meta.get("proxy") or "")).rpartition("@")[2]
        return TunnelError(f"Could not open CONNECT tunnel with proxy {proxy}: curl error {code}")
    if code == CurlECode.RECV_ERROR and "reset" in message.lower():
        return ConnectionResetError(f"{request.url}: connection reset by peer (curl error {code})")
    cls = _ERRORS.get(code, DownloadFailedError)
    return cls(f"{request.url}: {message.removeprefix('Failed to perform, ')}")
