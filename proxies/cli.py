"""What ``scrapy proxies <fetch|check|list|stats|serve|judge>`` does (the command only parses).

Every action takes the settings (a Scrapy Settings object or any mapping with ``.get``) and
keyword options, prints to stdout, and raises :class:`CliError` with an actionable message
for user errors (the command prints it without a traceback).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from proxies.checker import check_into_store
from proxies.model import Anonymity, Proxy
from proxies.pool import StoredProxyPool
from proxies.scoring import ProxyRecord
from proxies.store import open_store, summary
from proxies.validator import CheckResult, JudgeUnavailable, Validator

ACTIONS = ("fetch", "check", "list", "stats", "serve", "judge")


class CliError(Exception):
    """A user error: the message says what to do."""


def run(
    action: str, args: list[str], opts: dict[str, Any], settings: Any, out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    handlers: dict[str, Callable[..., int]] = {
        "fetch": fetch,
        "check": check,
        "list": list_,
        "stats": stats,
        "serve": serve,
        "judge": judge,
    }
    if action not in handlers:
        raise CliError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    try:
        return handlers[action](settings, args, out=out, **opts)
    except JudgeUnavailable as exc:
        raise CliError(str(exc)) from None


def _pool(settings: Any) -> StoredProxyPool:
    try:
        return StoredProxyPool._build(open_store(settings), settings)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # a store that cannot be opened (Redis down, bad path)
        raise CliError(f"cannot open the proxy store: {type(exc).__name__}: {_safe(exc)}") from None


def _safe(exc: BaseException) -> str:
    from proxies.model import mask_url

    return mask_url(str(exc))[:200]


def _validator(settings: Any, timeout: float | None, concurrency: int | None) -> Validator:
    v = Validator.from_settings(settings) if settings.get("PROXY_POOL_JUDGE_URL") else None
    if v is None:
        raise CliError(
            "no judge configured: set PROXY_POOL_JUDGE_URL (run your own with `scrapy proxies judge`)"
        )
    if timeout:
        v.timeout = float(timeout)
    if concurrency:
        v.concurrency = int(concurrency)
    return v


def _progress(
    total: int, enabled: bool | None, desc: str
) -> tuple[Callable[[CheckResult], None], Callable[[], None]]:
    try:
        from tqdm import tqdm
    except ImportError:  # progress is a nicety
        return (lambda r: None), (lambda: None)
    bar = tqdm(
        total=total,
        desc=desc,
        unit="proxy",
        file=sys.stderr,
        disable=None if enabled is None else not enabled,
    )
    alive = 0

    def update(res: CheckResult) -> None:
        nonlocal alive
        alive += bool(res.alive)
        bar.set_postfix(alive=alive, refresh=False)
        bar.update(1)

    return update, bar.close


# -- actions ------------------------------------------------------------------------------
def fetch(
    settings: Any,
    args: list[str],
    out: TextIO,
    source: list[str] | None = None,
    url: list[str] | None = None,
    check: bool = False,
    progress: bool | None = None,
    **_: Any,
) -> int:
    """Fetch the configured sources (or ``--source NAME`` ones, or ``--url`` lists) into the store."""
    from proxies.sources import SourceError, UrlSource, fetch_sources, sources_from_settings

    try:
        sources = sources_from_settings(settings)
    except (SourceError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if source:
        unknown = set(source) - {s.name for s in sources}
        if unknown:
            raise CliError(
                f"unknown source(s): {', '.join(sorted(unknown))}; configured: {', '.join(s.name for s in sources) or 'none'}"
            )
        sources = [s for s in sources if s.name in source]
    for i, u in enumerate(url or []):
        sources.append(UrlSource(f"url-{i + 1}" if len(url or []) > 1 else "url", u))
    if not sources:
        raise CliError(
            "no proxy sources: set PROXY_POOL_SOURCES / PROXY_POOL_SOURCES_FILE, or pass --url"
        )
    pool = _pool(settings)
    try:
        found, reports = asyncio.run(fetch_sources(sources, pool.store))
        for r in reports:
            status = f"error: {r.error}" if r.error else f"{r.found} found, {r.added} new"
            print(f"{r.source:<24} {status}", file=out)
        print(
            f"{len(found)} proxies from {len(sources)} sources; pool holds {pool.store.count()}",
            file=out,
        )
        if check and found:
            validator = _validator(settings, None, None)
            update, close = _progress(len(found), progress, "checking")
            try:
                report = asyncio.run(
                    check_into_store(pool.store, validator, pool.policy, found, update)
                )
            finally:
                close()
            _print_check(report, out)
        return 1 if all(r.error for r in reports) else 0
    finally:
        pool.close()


def check(
    settings: Any,
    args: list[str],
    out: TextIO,
    all: bool = False,  # noqa: A002
    limit: int | None = None,
    timeout: float | None = None,
    concurrency: int | None = None,
    progress: bool | None = None,
    verbose: bool = False,
    **_: Any,
) -> int:
    """Check the proxies given as arguments (added to the pool), or the pool's due ones (``--all``: every one)."""
    validator = _validator(settings, timeout, concurrency)
    pool = _pool(settings)
    try:
        if args:
            try:
                proxies = [Proxy.parse(a, source="cli") for a in args]
            except ValueError as exc:
                raise CliError(str(exc)) from None
            pool.store.add(proxies)
        else:
            records = pool.store.all() if all else pool.store.due(time.time())
            proxies = [r.proxy for r in records]
        if limit:
            proxies = proxies[: int(limit)]
        if not proxies:
            print(
                "nothing to check (the pool is empty or nothing is due; --all checks every proxy)",
                file=out,
            )
            return 0
        results: list[CheckResult] = []
        update, close = _progress(len(proxies), progress, "checking")

        def on_result(res: CheckResult) -> None:
            results.append(res)
            update(res)

        try:
            report = asyncio.run(
                check_into_store(pool.store, validator, pool.policy, proxies, on_result)
            )
        finally:
            close()
        if verbose or args:
            for res in results:
                print(res.summary(), file=out)
        _print_check(report, out)
        return 0
    finally:
        pool.close()


def _print_check(report: Any, out: TextIO) -> None:
    rate = report.checked / report.seconds if report.seconds else 0
    print(
        f"checked {report.checked} in {report.seconds:.1f}s ({rate:.0f}/s): {report.alive} alive, "
        f"{report.dead} dead, {report.dropped} dropped, {report.skipped} not checkable",
        file=out,
    )


def list_(
    settings: Any,
    args: list[str],
    out: TextIO,
    domain: str | None = None,
    https: bool = False,
    anonymity: str | None = None,
    paid: bool | None = None,
    all: bool = False,  # noqa: A002
    json_output: bool = False,
    limit: int | None = None,
    **_: Any,
) -> int:
    """Usable proxies best first (``--all``: every record, as stored)."""
    pool = _pool(settings)
    try:
        filters: dict[str, Any] = {"https": https}
        if anonymity:
            try:
                filters["anonymity"] = Anonymity.parse(anonymity)
            except ValueError as exc:
                raise CliError(str(exc)) from None
        if paid is not None:
            filters["paid"] = paid
        if all:
            records: list[ProxyRecord] = sorted(pool.store.all(), key=lambda r: -r.score)
        else:
            records = pool.records(domain, **filters)
        if limit:
            records = records[: int(limit)]
        if json_output:
            print(json.dumps([r.public_dict() for r in records], indent=2), file=out)
            return 0
        print(
            f"{'proxy':<40} {'score':>6} {'latency':>8} {'anonymity':<11} {'https':<5} {'state':<9} source",
            file=out,
        )
        for r in records:
            lat = f"{r.latency:.3f}" if r.latency is not None else "-"
            state = "unchecked" if r.alive is None else "alive" if r.alive else "dead"
            anon = r.anonymity.label if r.anonymity else "-"
            https_ = "-" if r.https is None else "yes" if r.https else "no"
            print(
                f"{r.proxy.label:<40} {r.score:>6.1f} {lat:>8} {anon:<11} {https_:<5} {state:<9} {r.proxy.source}",
                file=out,
            )
        print(f"{len(records)} proxies", file=out)
        return 0
    finally:
        pool.close()


def stats(
    settings: Any,
    args: list[str],
    out: TextIO,
    json_output: bool = False,
    drop_dead_sources: bool = False,
    **_: Any,
) -> int:
    """Counts, and per source how many proxies are alive: a source with nothing alive is flagged."""
    pool = _pool(settings)
    try:
        records = pool.store.all()
        s = summary(records)
        dead_sources = [name for name, v in s["sources"].items() if v["checked"] and not v["alive"]]
        if drop_dead_sources and dead_sources:
            keys = [r.key for r in records if (r.proxy.source or "-") in dead_sources]
            pool.store.remove(keys)
            pool.store.flush()
        if json_output:
            print(json.dumps({**s, "dead_sources": dead_sources}, indent=2), file=out)
            return 0
        ml = s["median_latency"]
        print(
            f"total {s['total']}  alive {s['alive']}  dead {s['dead']}  unchecked {s['unchecked']}  "
            f"usable now {s['usable_now']}  https {s['https']}  paid {s['paid']}",
            file=out,
        )
        print(
            f"anonymity {s['anonymity']}  median latency {'-' if ml is None else f'{ml:.3f}s'}",
            file=out,
        )
        print(f"{'source':<24} {'total':>6} {'alive':>6} {'checked':>8} {'paid':>5}", file=out)
        for name, v in s["sources"].items():
            flag = "  <- nothing alive" if name in dead_sources else ""
            print(
                f"{name:<24} {v['total']:>6} {v['alive']:>6} {v['checked']:>8} {v['paid']:>5}{flag}",
                file=out,
            )
        if dead_sources:
            verb = "dropped" if drop_dead_sources else "drop them with --drop-dead-sources"
            print(f"sources with nothing alive: {', '.join(dead_sources)} ({verb})", file=out)
        return 0
    finally:
        pool.close()


def serve(
    settings: Any,
    args: list[str],
    out: TextIO,
    host: str | None = None,
    port: int | None = None,
    no_check: bool = False,
    no_fetch: bool = False,
    **_: Any,
) -> int:
    """The HTTP API plus scheduled source fetches and re-checks, until interrupted."""
    from proxies.service import run_service
    from proxies.sources import SourceError, sources_from_settings

    host = host or settings.get("PROXY_POOL_API_HOST") or "127.0.0.1"
    port = int(port if port is not None else settings.get("PROXY_POOL_API_PORT") or 5010)
    _warn_if_public(host, out)
    try:
        sources = [] if no_fetch else sources_from_settings(settings)
    except (SourceError, ValueError) as exc:
        raise CliError(str(exc)) from None
    validator = None
    if not no_check:
        if settings.get("PROXY_POOL_JUDGE_URL"):
            validator = Validator.from_settings(settings)
        else:
            print("no PROXY_POOL_JUDGE_URL: serving without checks", file=sys.stderr)
    pool = _pool(settings)

    def ready(actual: int) -> None:
        print(f"proxy pool API on http://{host}:{actual}/ (Ctrl-C stops)", file=out, flush=True)

    try:
        asyncio.run(run_service(pool, validator, sources, host, port, on_ready=ready))
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    except KeyboardInterrupt:
        pass
    finally:
        pool.close()
    return 0


def judge(
    settings: Any,
    args: list[str],
    out: TextIO,
    host: str | None = None,
    port: int | None = None,
    tls_port: int | None = None,
    cert: str | None = None,
    key: str | None = None,
    **_: Any,
) -> int:
    """Run the judge the validator checks proxies against."""
    from proxies.judge import serve_judge

    host = host or settings.get("PROXY_POOL_JUDGE_HOST") or "127.0.0.1"
    port = int(port if port is not None else settings.get("PROXY_POOL_JUDGE_PORT") or 8899)
    _warn_if_public(host, out)
    try:
        serve_judge(host, port, tls_port, cert, key)
    except OSError as exc:
        raise CliError(f"cannot start the judge on {host}:{port}: {exc.strerror or exc}") from None
    return 0


def _warn_if_public(host: str, out: TextIO) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(
            f"warning: listening on {host}, not loopback: anyone who can reach it can use it",
            file=sys.stderr,
        )
