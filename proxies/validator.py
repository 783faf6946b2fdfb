"""The asynchronous validator: one GET through each proxy, hundreds at once, each bounded in time.

For each proxy, at most ``concurrency`` checks at a time:

1. reachability, latency and anonymity: GET the judge (``PROXY_POOL_JUDGE_URL``) through the
   proxy and read what the judge saw (:mod:`proxies.anonymity`), against our own address as the
   judge sees it without a proxy;
2. HTTPS: GET ``PROXY_POOL_JUDGE_HTTPS_URL`` through a CONNECT tunnel (when configured);
3. target checks: a site's own URL, with a body marker (``PROXY_POOL_TARGETS``).

HTTP proxies share one aiohttp session; SOCKS4/SOCKS5 proxies go through python-socks
(aiohttp-socks), one connector each. Every request runs under ``PROXY_POOL_CHECK_TIMEOUT``, so a
tarpit that accepts and never answers costs one timeout and nothing more. Step 1 is the whole
cost of a dead proxy: the validator is a plain "one GET per proxy" checker plus the reading of
the answer, and ``benchmarks/bench_validator.py`` holds it to that.

A judge answering in a shape it cannot read (plain text, HTML, JSON cut short) leaves anonymity
unknown (None); liveness is still decided by whether the proxy relayed an answer.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from proxies.anonymity import MAX_ANSWER, JudgeAnswer, classify, parse_answer
from proxies.model import Anonymity, Proxy, mask_url
from proxies.pool import TargetCheck
from proxies.settings import PoolSettings

__all__ = ["CheckResult", "JudgeUnavailable", "Validator", "classify"]

logger = logging.getLogger(__name__)

HTTP_SCHEMES = ("http", "https")
SOCKS_SCHEMES = ("socks4", "socks5")
CHECKABLE_SCHEMES = HTTP_SCHEMES + SOCKS_SCHEMES


class JudgeUnavailable(Exception):
    """The judge does not answer without a proxy, so no proxy can be judged."""


@dataclass
class CheckResult:
    """The validator's verdict on one proxy. ``alive`` is None when the proxy was not checked;
    ``anonymity`` is None when the judge's answer could not be read."""

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
        anon = self.anonymity.label if self.anonymity else "unknown"
        return f"{self.proxy.label} alive {self.latency:.3f}s {anon} https={self.https}"


def safe_error(exc: BaseException, proxy: Proxy | None = None) -> str:
    """An error's text with the proxy's credentials (as typed and as URL-encoded) removed."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    text = f"{type(exc).__name__}: {exc}"
    if proxy is not None:
        for secret in (proxy.password, proxy.username):
            if secret:
                for form in {secret, quote(secret, safe=""), quote(secret)}:
                    text = text.replace(form, "***")
    return mask_url(text)[:200]


async def https_through_connect(
    proxy: Proxy,
    url: str,
    timeout: float,
    context: ssl.SSLContext,
    tls_slots: asyncio.Semaphore,
) -> bool:
    """CONNECT through an HTTP proxy, then (holding a TLS slot) TLS and a GET of ``url``."""
    target = urlsplit(url)
    host, port = target.hostname or "", target.port or 443
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
            head = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            if proxy.username is not None:
                token = f"{proxy.username}:{proxy.password or ''}".encode()
                head += f"Proxy-Authorization: Basic {base64.b64encode(token).decode()}\r\n"
            writer.write((head + "\r\n").encode("latin-1"))
            status = (await reader.readline()).split()
            if len(status) < 2 or status[1] != b"200":
                return False
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # the rest of the proxy's answer head
        async with tls_slots, asyncio.timeout(timeout):
            await writer.start_tls(context, server_hostname=host)
            request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode("latin-1"))
            status = (await reader.readline()).split()
            return len(status) >= 2 and status[1] == b"200"
    except Exception:  # noqa: BLE001 - any failure means "does not tunnel HTTPS"
        return False
    finally:
        if writer is not None:
            writer.close()


async def _read_bounded(resp: aiohttp.ClientResponse) -> bytes:
    """The body, at most ``MAX_ANSWER`` bytes of it (a hostile proxy may send without end)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER:
            break
    return b"".join(chunks)[:MAX_ANSWER]


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
        retry_timeouts: bool = False,
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
        self.judge_readable = True  # False: the judge's answers are of a shape we cannot read
        self._tls_sem: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Validator:
        s = PoolSettings.wrap(settings)
        return cls(
            s.get("PROXY_POOL_JUDGE_URL") or "",
            https_url=s.getoptional("PROXY_POOL_JUDGE_HTTPS_URL"),
            timeout=s.getfloat("PROXY_POOL_CHECK_TIMEOUT"),
            concurrency=s.getint("PROXY_POOL_CHECK_CONCURRENCY"),
            tls_concurrency=s.getint("PROXY_POOL_CHECK_TLS_CONCURRENCY"),
            retry_timeouts=s.getbool("PROXY_POOL_CHECK_RETRY_TIMEOUTS"),
            tls_verify=s.getbool("PROXY_POOL_JUDGE_TLS_VERIFY"),
            own_addresses=s.getlist("PROXY_POOL_OWN_ADDRESSES"),
            targets=TargetCheck.parse_all(s.getdict("PROXY_POOL_TARGETS")),
        )

    def _tls_slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._tls_sem is None or self._tls_sem[0] is not loop:
            self._tls_sem = (loop, asyncio.Semaphore(self.tls_concurrency))
        return self._tls_sem[1]

    def _client_options(self) -> dict[str, Any]:
        return {
            "trust_env": False,
            "timeout": aiohttp.ClientTimeout(total=self.timeout),
            "headers": {"User-Agent": "proxy-pool-validator/1.0", "Accept": "*/*"},
            "skip_auto_headers": ("Accept-Encoding",),
        }

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, force_close=True, ssl=self.tls)
        return aiohttp.ClientSession(connector=connector, **self._client_options())

    def _socks_session(self, proxy: Proxy) -> aiohttp.ClientSession:
        from aiohttp_socks import ProxyConnector, ProxyType

        connector = ProxyConnector(
            proxy.host,
            proxy.port,
            proxy_type=ProxyType.SOCKS4 if proxy.scheme == "socks4" else ProxyType.SOCKS5,
            username=proxy.username,
            password=proxy.password,
            ssl=self.tls,
            force_close=True,
        )
        return aiohttp.ClientSession(connector=connector, **self._client_options())

    async def discover_own_addresses(self, session: aiohttp.ClientSession) -> set[str]:
        """Our address as the judge sees it without a proxy (what a transparent proxy leaks);
        also learns whether the judge's answers can be read at all."""
        async with session.get(self.judge_url) as resp:
            if resp.status != 200:
                raise JudgeUnavailable(f"it answered HTTP {resp.status}")
            body = await _read_bounded(resp)
        answer = parse_answer(body)
        self.judge_readable = answer is not None
        if answer is None:
            logger.warning(
                "the judge %s answers in a shape that cannot be read: anonymity stays unknown",
                mask_url(self.judge_url),
            )
        elif answer.remote_addr:
            self.own_addresses.add(answer.remote_addr)
        return self.own_addresses

    async def _fetch(
        self, session: aiohttp.ClientSession, url: str, proxy: Proxy
    ) -> tuple[int, bytes, float]:
        start = time.perf_counter()
        via = proxy.url if proxy.scheme in HTTP_SCHEMES else None
        async with session.get(url, proxy=via, allow_redirects=False) as resp:
            body = await _read_bounded(resp)
            return resp.status, body, time.perf_counter() - start

    async def _https(self, session: aiohttp.ClientSession, proxy: Proxy) -> bool:
        """Whether ``proxy`` tunnels HTTPS: a GET of the judge's HTTPS side through CONNECT.

        TLS handshakes cost CPU: a separate, smaller limit keeps a saturated machine from
        timing out checks of proxies that are fine. Only the handshake and the GET hold a slot:
        an HTTP proxy's CONNECT is made first, outside it, so that slow proxies waiting to
        answer it do not keep fast ones from their handshake. Each phase is bounded by the
        timeout, the second from when its slot is free (it bounds the proxy, not the queue).
        """
        if proxy.scheme != "http":  # SOCKS (its own connector) and TLS-to-proxy: through aiohttp
            async with self._tls_slots():
                try:
                    status, _, _ = await self._fetch(session, self.https_url, proxy)
                    return status == 200
                except Exception:  # noqa: BLE001
                    return False
        return await https_through_connect(
            proxy, self.https_url, self.timeout, self._ssl_context(), self._tls_slots()
        )

    def _ssl_context(self) -> ssl.SSLContext:
        """One context for every tunnel (making one loads the CA bundle: tens of ms)."""
        if isinstance(self.tls, ssl.SSLContext):
            return self.tls
        if self._context is None:
            self._context = ssl.create_default_context()
            if not self.tls:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        return self._context

    async def check(self, session: aiohttp.ClientSession, proxy: Proxy) -> CheckResult:
        """Check one proxy; never raises, never takes longer than about (1 + steps) timeouts."""
        if proxy.scheme in SOCKS_SCHEMES:
            if not all(c is None or c.isascii() for c in (proxy.username, proxy.password)):
                # SOCKS5 carries credentials as bytes; python-socks sends them as ASCII
                return CheckResult(proxy, False, error="SOCKS credentials must be ASCII")
            async with self._socks_session(proxy) as socks:
                return await self._check(socks, proxy)
        if proxy.scheme not in HTTP_SCHEMES:
            return CheckResult(proxy, None, error=f"{proxy.scheme} proxies are not checked")
        return await self._check(session, proxy)

    async def _check(self, session: aiohttp.ClientSession, proxy: Proxy) -> CheckResult:
        try:
            status, body, latency = await self._fetch(session, self.judge_url, proxy)
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
            return CheckResult(proxy, False, error=safe_error(exc, proxy))
        if status != 200:
            return CheckResult(proxy, False, error=f"judge answered {status} through proxy")
        answer: JudgeAnswer | None = parse_answer(body)
        if answer is None and self.judge_readable:
            # the judge answers JSON when asked directly: this is the proxy's own page
            return CheckResult(proxy, False, error="the proxy did not relay the judge's answer")
        result = CheckResult(
            proxy,
            True,
            latency=latency,
            anonymity=classify(answer, self.own_addresses) if answer is not None else None,
            seen_address=answer.remote_addr if answer is not None else None,
        )
        if self.https_url:
            result.https = await self._https(session, proxy)
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

        With ``retry_timeouts``, proxies that timed out get one more check in a second round
        (a tarpit then costs two timeouts in all)."""
        items = list(proxies)
        results: list[CheckResult | None] = [None] * len(items)
        async with self._session() as session:
            # the judge must answer us directly first: with the judge down, every proxy
            # would look dead and be dropped
            try:
                await self.discover_own_addresses(session)
            except Exception as exc:  # noqa: BLE001
                reason = str(exc) if isinstance(exc, JudgeUnavailable) else safe_error(exc)
                raise JudgeUnavailable(
                    f"the judge {mask_url(self.judge_url)} does not answer ({reason}): start "
                    "one with `python -m proxies judge` or set PROXY_POOL_JUDGE_URL"
                ) from None

            async def worker(indices: Iterable[int], final: bool) -> None:
                for i in indices:
                    res = await self.check(session, items[i])
                    results[i] = res
                    if progress is not None and (final or res.error != "timeout"):
                        progress(res)

            async def round_(indices: list[int], final: bool) -> None:
                shared = iter(indices)  # every worker takes the next index
                workers = min(self.concurrency, len(indices)) or 1
                await asyncio.gather(*(worker(shared, final) for _ in range(workers)))

            await round_(list(range(len(items))), final=not self.retry_timeouts)
            if self.retry_timeouts:
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
