"""A pool that lives elsewhere: the crawler's side of ``scrapy proxies serve``'s HTTP API.

:class:`HttpApiProxyPool` implements :class:`proxies.model.ProxyPool` over the API
(``/all``, ``/get``, ``/report``). The API never sends credentials; paid proxies get theirs
back here, from this machine's own ``PROXY_POOL_PAID_FILE`` / ``PROXY_POOL_PAID_ENV`` (matched
by the proxy's key, which carries a digest of them), and are skipped when unknown here.
Candidate lists are cached for a moment. Successes are queued and sent by a background
thread (``flush()`` waits for them), so a slow API never stalls a crawl; failures and bans are
sent at once, because ``report`` returns the seconds the server benched the proxy for. If the
API is down the pool answers "no proxy" (and 0.0 for a report) and logs, it does not raise.
Reports change state, so they carry the API token (:mod:`proxies.api_token`) in an
``Authorization: Bearer`` header.

Settings: ``PROXY_POOL_API_URL``, ``PROXY_POOL_API_TIMEOUT`` (seconds),
``PROXY_POOL_API_CACHE`` (seconds a candidate list is reused), the token settings, plus the
filters ``PROXY_POOL_PAID``, ``PROXY_POOL_MIN_ANONYMITY``, ``PROXY_POOL_HTTPS`` sent as query
parameters.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Iterable
from typing import Any

from proxies.model import Anonymity, Outcome, Proxy, mask_url
from proxies.pool import filters_from_settings
from proxies.scoring import Filters
from proxies.settings import PoolSettings

logger = logging.getLogger(__name__)


class HttpApiProxyPool:
    def __init__(
        self,
        base_url: str = "http://127.0.0.1:5010",
        *,
        timeout: float = 2.0,
        cache_seconds: float = 2.0,
        filters: Filters | None = None,
        credentials: Iterable[Proxy] = (),
        rng: random.Random | None = None,
        background_reports: bool = True,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.filters = filters or Filters()
        self.credentials = {p.key: p for p in credentials}
        self._token = token
        self.rng = rng or random.Random()
        self._cache: dict[tuple, tuple[float, list[Proxy]]] = {}
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        # reports go out from a background thread, so a slow API never stalls the crawl
        self.background_reports = background_reports
        self._reports: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=10_000)
        self._sender: threading.Thread | None = None
        self.dropped_reports = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> HttpApiProxyPool:
        return cls.from_settings(crawler.settings)

    @classmethod
    def from_settings(cls, settings: Any) -> HttpApiProxyPool:
        from proxies.api_token import client_token
        from proxies.proxy_keys import configure_keys
        from proxies.sources import load_paid

        s = PoolSettings.wrap(settings)
        configure_keys(s)  # keys must match the server's to find local credentials
        return cls(
            s.get("PROXY_POOL_API_URL"),
            timeout=s.getfloat("PROXY_POOL_API_TIMEOUT"),
            cache_seconds=s.getfloat("PROXY_POOL_API_CACHE"),
            filters=filters_from_settings(s),
            credentials=load_paid(s),
            token=client_token(s),
        )

    # -- the ProxyPool protocol -----------------------------------------------------------
    def get(self, domain: str | None = None, **filters: Any) -> Proxy | None:
        data = self._call("/get", self._params(domain, filters))
        if not isinstance(data, dict) or "proxy" not in data:
            return None
        return self._proxy(data)

    def candidates(self, domain: str | None = None, **filters: Any) -> list[Proxy]:
        params = self._params(domain, filters)
        key = tuple(sorted(params.items()))
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self.cache_seconds:
            return list(hit[1])
        data = self._call("/all", params)
        out = (
            [p for p in (self._proxy(d) for d in data or []) if p is not None]
            if isinstance(data, list)
            else []
        )
        self._cache[key] = (time.monotonic(), out)
        return list(out)

    def report(
        self,
        proxy: Proxy,
        outcome: Outcome,
        domain: str | None = None,
        latency: float | None = None,
    ) -> float:
        """Successes go out in the background (they never bench: 0.0); failures and bans are
        sent now, and the server's bench is returned (0.0 if the API did not answer)."""
        body = {"key": proxy.key, "outcome": outcome.value, "domain": domain, "latency": latency}
        if outcome is not Outcome.SUCCESS or not self.background_reports:
            self._cache.clear()  # the server benches it; do not keep handing it out
            answer = self._call("/report", None, body)
            benched = answer.get("benched") if isinstance(answer, dict) else None
            return float(benched) if isinstance(benched, int | float) else 0.0
        if self._sender is None or not self._sender.is_alive():
            self._sender = threading.Thread(
                target=self._send_reports, name="proxy-reports", daemon=True
            )
            self._sender.start()
        try:
            self._reports.put_nowait(body)
        except queue.Full:
            if not self.dropped_reports:
                logger.warning("proxy pool API too slow: reports are being dropped")
            self.dropped_reports += 1
        return 0.0

    def __len__(self) -> int:
        data = self._call("/count", {})
        return int(data.get("count", 0)) if isinstance(data, dict) else 0

    def next_available_in(self, domain: str) -> float | None:
        return None  # the server knows; the caller polls

    def unsupported(self, schemes: Collection[str]) -> list[Proxy]:
        data = self._call("/all", {})
        proxies = [self._proxy(d) for d in data] if isinstance(data, list) else []
        return [p for p in proxies if p is not None and p.scheme not in schemes]

    def not_configured(self) -> str | None:
        return None

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until queued reports are sent (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while self._reports.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._reports.unfinished_tasks

    def close(self) -> None:
        self.flush()

    def _send_reports(self) -> None:
        while True:
            body = self._reports.get()
            try:
                self._call("/report", None, body)
            finally:
                self._reports.task_done()

    # -- internals ------------------------------------------------------------------------
    def _params(self, domain: str | None, overrides: dict[str, Any]) -> dict[str, str]:
        f = self.filters
        params: dict[str, str] = {}
        if domain:
            params["domain"] = domain
        https = overrides.get("https", f.https)
        if https:
            params["type"] = "https"
        anon = overrides.get("anonymity", overrides.get("min_anonymity", f.min_anonymity))
        if anon:
            params["anonymity"] = Anonymity.parse(anon).label
        paid = overrides.get("paid", f.paid)
        if paid is not None:
            params["paid"] = "1" if paid else "0"
        return params

    def _proxy(self, d: dict[str, Any]) -> Proxy | None:
        key = d.get("key", "")
        if "#" in key:  # credentials: only if this machine has them
            known = self.credentials.get(key)
            if known is None:
                logger.debug("paid proxy %s has no local credentials; skipped", d.get("label"))
            return known
        try:
            host, port = str(d["proxy"]).rsplit(":", 1)
            return Proxy(
                host,
                int(port),
                scheme=d.get("scheme") or "http",
                source=d.get("source") or "",
                paid=bool(d.get("paid")),
            )
        except (KeyError, ValueError):
            return None

    def _call(self, path: str, params: dict[str, str] | None, body: dict | None = None) -> Any:
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        req = urllib.request.Request(url, data=data, headers=headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                logger.warning(
                    "proxy pool API %s refused the token (%s): set the same PROXY_POOL_API_TOKEN "
                    "as the server's",
                    mask_url(self.base_url + path),
                    exc.code,
                )
            elif exc.code == 429:
                logger.warning(
                    "proxy pool API %s backs off this address after wrong tokens: retry after %s s",
                    mask_url(self.base_url + path),
                    exc.headers.get("Retry-After", "?"),
                )
            elif exc.code == 400 and "Host" in _first_line(exc):
                logger.warning(
                    "proxy pool API %s refused the Host %s: add it to "
                    "PROXY_POOL_API_ALLOWED_HOSTS on the server",
                    mask_url(self.base_url + path),
                    urllib.parse.urlsplit(self.base_url).netloc.rpartition("@")[2],
                )
            elif exc.code != 404:
                logger.warning(
                    "proxy pool API %s answered %s", mask_url(self.base_url + path), exc.code
                )
        except (OSError, ValueError) as exc:
            logger.warning(
                "proxy pool API %s unreachable: %s",
                mask_url(self.base_url + path),
                type(exc).__name__,
            )
        return None


def _first_line(exc: urllib.error.HTTPError) -> str:
    """The first line of an error answer's body (the API's answers are one short line)."""
    try:
        return exc.read(200).decode("utf-8", "replace").partition("\n")[0]
    except OSError:
        return ""
