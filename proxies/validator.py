"""The asynchronous validator: checks hundreds of proxies at once, each check bounded in time.

For each proxy, through one shared aiohttp session and at most ``concurrency`` checks at a time:

1. reachability and latency: fetch the judge (``PROXY_POOL_JUDGE_URL``) through the proxy;
2. anonymity: what the judge saw (client address, Via, X-Forwarded-For, Forwarded, ...)
   compared with our own address as the judge sees it without a proxy;
3. HTTPS: fetch ``PROXY_POOL_JUDGE_HTTPS_URL`` through a CONNECT tunnel (when configured);
4. target checks: a site's own URL, with a body marker (``PROXY_POOL_TARGETS``).

Every step runs under its own timeout (``PROXY_POOL_CHECK_TIMEOUT``), so a tarpit that
accepts and never answers costs one timeout per check and nothing more; a proxy that timed
out is checked once more at the end of the batch before it is called dead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from proxies.judge import PROXY_HEADERS
from proxies.model import Anonymity, Proxy, mask_url
from proxies.pool import TargetCheck

logger = logging.getLogger(__name__)

CHECKABLE_SCHEMES = ("http", "https")


class JudgeUnavailable(Exception):
    """The judge does not answer without a proxy, so no proxy can be judged."""


@dataclass
class CheckResult:
    """The validator's verdict on one proxy. ``alive`` is None when the proxy was not checked."""

    proxy: Proxy
    alive: bool | None
    latency: float | None = None
    anonymity: Anonymity | None = None
    https: bool | None = None
    error: str = ""
    targets: dict[str, bool] = field(default_factory=dict)
    seen_address: str | None = None  # what the judge saw as the client address

    def summary(self) -> str:
        if not self.alive:
            return f"{self.proxy.label} dead ({self.error or 'unreachable'})"
        anon = self.anonymity.label if self.anonymity else "?"
        return f"{self.proxy.label} alive {self.latency:.3f}s {anon} https={self.https}"


def classify(answer: dict[str, Any], own_addresses: Iterable[str]) -> Anonymity:
    """Anonymity from the judge's answer.

    >>> classify({"remote_addr": "5.6.7.8", "headers": {}}, {"1.2.3.4"}).label
    'elite'
    >>> classify({"remote_addr": "5.6.7.8", "headers": {"Via": "1.1 squid"}}, {"1.2.3.4"}).label
    'anonymous'
    >>> classify({"remote_addr": "5.6.7.8", "headers": {"X-Forwarded-For": "1.2.3.4"}}, {"1.2.3.4"}).label
    'transparent'
    """
    own = set(own_addresses)
    if answer.get("remote_addr") in own:
        return Anonymity.TRANSPARENT
    headers = {str(k).lower(): str(v) for k, v in (answer.get("headers") or {}).items()}
    revealing = {k: v for k, v in headers.items() if k in PROXY_HEADERS}
    for value in revealing.values():
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


def _safe_error(exc: BaseException, proxy: Proxy) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    text = f"{type(exc).__name__}: {exc}"
    for secret in (proxy.password, proxy.username):
        if secret:
            text = text.replace(secret, "***")
    return mask_url(text)[:200]


class Validator:
    """Checks proxies concurrently. Reuse one validator for many batches."""

    def __init__(
        self,
        judge_url: str,
        *,
        https_url: str | None = None,
        timeout: float = 5.0,
        concurrency: int = 200,
        tls_verify: bool = True,
        own_addresses: Iterable[str] = (),
        targets: Sequence[TargetCheck] = (),
        tls_concurrency: int = 64,
        retry_timeouts: bool = True,
    ) -> None:
        if not judge_url:
            raise ValueError("the validator needs a judge URL (setting PROXY_POOL_JUDGE_URL)")
        self.judge_url = judge_url
        self.https_url = https_url
        self.timeout = float(timeout)
        self.concurrency = max(1, int(concurrency))
        self.tls: ssl.SSLContext | bool = bool(tls_verify)
        self.own_addresses = set(own_addresses)
        self.targets = list(targets)
        self.tls_concurrency = max(1, int(tls_concurrency))
        self.retry_timeouts = retry_timeouts
        self._tls_sem: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Validator:
        verify = settings.get("PROXY_POOL_JUDGE_TLS_VERIFY")
        if isinstance(verify, str):
            verify = verify.strip().lower() not in ("0", "false", "no", "off")
        own = settings.get("PROXY_POOL_OWN_ADDRESSES") or ()
        if isinstance(own, str):
            own = [a.strip() for a in own.split(",") if a.strip()]
        return cls(
            settings.get("PROXY_POOL_JUDGE_URL") or "",
            https_url=settings.get("PROXY_POOL_JUDGE_HTTPS_URL") or None,
            timeout=float(settings.get("PROXY_POOL_CHECK_TIMEOUT") or 5.0),
            concurrency=int(settings.get("PROXY_POOL_CHECK_CONCURRENCY") or 200),
            tls_concurrency=int(settings.get("PROXY_POOL_CHECK_TLS_CONCURRENCY") or 64),
            retry_timeouts=str(settings.get("PROXY_POOL_CHECK_RETRY_TIMEOUTS", True)).lower()
            not in ("0", "false", "no", "off"),
            tls_verify=True if verify is None else bool(verify),
            own_addresses=own,
            targets=TargetCheck.parse_all(settings.get("PROXY_POOL_TARGETS")),
        )

    def _tls_slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._tls_sem is None or self._tls_sem[0] is not loop:
            self._tls_sem = (loop, asyncio.Semaphore(self.tls_concurrency))
        return self._tls_sem[1]

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.concurrency * 2, force_close=True, ssl=self.tls, ttl_dns_cache=300
        )
        return aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": "proxy-pool-validator/1.0", "Accept": "*/*"},
        )

    async def discover_own_addresses(self, session: aiohttp.ClientSession) -> set[str]:
        """Our address as the judge sees it without a proxy (what a transparent proxy leaks)."""
        async with asyncio.timeout(self.timeout):
            async with session.get(self.judge_url) as resp:
                answer = json.loads(await resp.read())
        addr = answer.get("remote_addr")
        if addr:
            self.own_addresses.add(addr)
        return self.own_addresses

    async def _fetch(
        self, session: aiohttp.ClientSession, url: str, proxy: Proxy
    ) -> tuple[int, bytes, float]:
        start = time.perf_counter()
        async with asyncio.timeout(self.timeout):
            async with session.get(url, proxy=proxy.url, allow_redirects=False) as resp:
                body = await resp.read()
                return resp.status, body, time.perf_counter() - start

    async def check(self, session: aiohttp.ClientSession, proxy: Proxy) -> CheckResult:
        """Check one proxy; never raises, never takes longer than about (2 + targets) timeouts."""
        if proxy.scheme not in CHECKABLE_SCHEMES:
            return CheckResult(proxy, None, error=f"{proxy.scheme} proxies are not checked")
        try:
            status, body, latency = await self._fetch(session, self.judge_url, proxy)
            if status != 200:
                return CheckResult(proxy, False, error=f"judge answered {status} through proxy")
            answer = json.loads(body)
            if not isinstance(answer, dict) or "headers" not in answer:
                raise ValueError("not a judge answer")
        except (ValueError, UnicodeDecodeError):
            return CheckResult(proxy, False, error="the proxy did not relay the judge's answer")
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
            return CheckResult(proxy, False, error=_safe_error(exc, proxy))
        result = CheckResult(
            proxy,
            True,
            latency=latency,
            anonymity=classify(answer, self.own_addresses),
            seen_address=answer.get("remote_addr"),
        )
        if self.https_url:
            # TLS handshakes cost CPU: a separate, smaller limit keeps a saturated machine
            # from timing out checks of proxies that are fine (the timeout starts once a slot
            # is free, so it still bounds the proxy, not the queue)
            async with self._tls_slots():
                try:
                    status, _, _ = await self._fetch(session, self.https_url, proxy)
                    result.https = status == 200
                except Exception:  # noqa: BLE001
                    result.https = False
        for target in self.targets:
            try:
                status, body, _ = await self._fetch(session, target.url, proxy)
                ok = status == 200 and (
                    not target.marker or target.marker in body.decode("utf-8", "replace")
                )
            except Exception:  # noqa: BLE001
                ok = False
            result.targets[target.domain] = ok
        return result

    async def check_all(
        self,
        proxies: Iterable[Proxy],
        progress: Callable[[CheckResult], None] | None = None,
    ) -> list[CheckResult]:
        """Check every proxy, ``concurrency`` at a time; results in input order.

        Proxies that timed out get one more check in a second round (``retry_timeouts``), so
        a tarpit costs two timeouts in all, and a live proxy is not called dead because the
        machine was busy for a moment."""
        items = list(proxies)
        results: list[CheckResult | None] = [None] * len(items)
        async with self._session() as session:
            # the judge must answer us directly first: with the judge down, every proxy
            # would look dead and be dropped
            try:
                await self.discover_own_addresses(session)
            except Exception as exc:  # noqa: BLE001
                raise JudgeUnavailable(
                    f"the judge {mask_url(self.judge_url)} does not answer "
                    f"({_safe_error(exc, Proxy('-', 0))}): start one with `scrapy proxies judge` "
                    "or set PROXY_POOL_JUDGE_URL"
                ) from None

            async def worker(queue: asyncio.Queue[int], final: bool) -> None:
                while True:
                    try:
                        i = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    res = await self.check(session, items[i])
                    results[i] = res
                    if progress is not None and (final or res.error != "timeout"):
                        progress(res)

            async def round_(indices: list[int], final: bool) -> None:
                queue: asyncio.Queue[int] = asyncio.Queue()
                for i in indices:
                    queue.put_nowait(i)
                workers = min(self.concurrency, len(indices)) or 1
                await asyncio.gather(*(worker(queue, final) for _ in range(workers)))

            await round_(list(range(len(items))), final=not self.retry_timeouts)
            if self.retry_timeouts:
                # a busy machine (or a burst of slow answers) can time out a live proxy; one
                # more try, with the dead ones out of the way, before calling it dead
                again = [i for i, r in enumerate(results) if r is not None and r.error == "timeout"]
                if again:
                    await round_(again, final=True)
        return [r for r in results if r is not None]

    def run(
        self,
        proxies: Iterable[Proxy],
        progress: Callable[[CheckResult], None] | None = None,
    ) -> list[CheckResult]:
        """Synchronous entry point: ``asyncio.run(check_all(...))``."""
        return asyncio.run(self.check_all(proxies, progress))
