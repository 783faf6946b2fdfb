"""``fetch`` (sources into the pool) and ``check`` (the validator over the pool)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from proxies.checker import CheckReport, check_into_store, slowest_first
from proxies.cli.errors import CliError
from proxies.model import Proxy, mask_url
from proxies.pool import StoredProxyPool
from proxies.pool_store import open_pool_store
from proxies.settings import PoolSettings
from proxies.validator import CheckResult, Validator


def open_pool(settings: PoolSettings) -> StoredProxyPool:
    """The pool over ``PROXY_POOL_STORE``; a store that cannot be opened is a CliError."""
    from proxies.pool_store import StoreError
    from proxies.proxy_keys import SecretError

    try:
        return StoredProxyPool._build(open_pool_store(settings), settings)
    except (StoreError, SecretError) as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a store of another kind failing to open
        raise CliError(
            f"cannot open the proxy store {mask_url(str(settings.get('PROXY_POOL_STORE')))}: "
            f"{type(exc).__name__}: {mask_url(str(exc))[:160]}"
        ) from None


def validator_for(
    settings: PoolSettings, timeout: float | None, concurrency: int | None
) -> Validator:
    if not settings.getoptional("PROXY_POOL_JUDGE_URL"):
        raise CliError(
            "no judge configured: set PROXY_POOL_JUDGE_URL (run one with `python -m proxies judge`)"
        )
    v = Validator.from_settings(settings)
    if timeout:
        v.timeout = float(timeout)
    if concurrency:
        v.concurrency = int(concurrency)
    return v


def progress_bar(
    total: int, enabled: bool | None, desc: str
) -> tuple[Callable[[CheckResult], None], Callable[[], None]]:
    """A progress bar on stderr (a terminal, or ``--progress``); no-op callbacks otherwise."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return (lambda r: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="proxy", file=sys.stderr)
    alive = 0

    def update(res: CheckResult) -> None:
        nonlocal alive
        alive += bool(res.alive)
        bar.set_postfix(alive=alive, refresh=False)
        bar.update(1)

    return update, bar.close


def print_check(report: CheckReport, out: TextIO) -> None:
    rate = report.checked / report.seconds if report.seconds else 0
    print(
        f"checked {report.checked} in {report.seconds:.1f}s ({rate:.0f}/s): {report.alive} alive, "
        f"{report.dead} dead, {report.dropped} dropped, {report.skipped} not checkable",
        file=out,
    )


def fetch(
    settings: PoolSettings,
    args: list[str],
    out: TextIO,
    rule_runner: Any = None,
    source: list[str] | None = None,
    url: list[str] | None = None,
    rule: list[str] | None = None,
    rule_args: list[str] | None = None,
    check: bool = False,
    progress: bool | None = None,
    **_: Any,
) -> int:
    """Fetch the configured sources (or ``--source NAME`` ones, or ``--url`` lists, or
    ``--rule`` sites with ``-a`` arguments) into the store. Rule sources need the crawler's rule
    runner (``scrapy proxies fetch``)."""
    from proxies.sources import RuleSource, UrlSource, fetch_sources, sources_from_settings

    sources = sources_from_settings(settings)
    if source:
        unknown = set(source) - {s.name for s in sources}
        if unknown:
            configured = ", ".join(s.name for s in sources) or "none"
            raise CliError(
                f"unknown source(s): {', '.join(sorted(unknown))}; configured: {configured}"
            )
        sources = [s for s in sources if s.name in source]
    for i, u in enumerate(url or []):
        sources.append(UrlSource(f"url-{i + 1}" if len(url or []) > 1 else "url", u))
    args = _name_values(rule_args or [])
    sources += [RuleSource(name, name, args=dict(args)) for name in dict.fromkeys(rule or [])]
    if not sources:
        raise CliError(
            "no proxy sources: set PROXY_POOL_SOURCES / PROXY_POOL_SOURCES_FILE (docs/proxies.md), "
            "or pass --url URL (a text/JSON list) or --rule RULE (a free-proxy site's rule, e.g. "
            "--rule sample_free_proxies -a site=http://127.0.0.1:8000 with the sample site up)"
        )
    pool = open_pool(settings)
    try:
        found, reports = asyncio.run(
            fetch_sources(
                sources,
                pool.store,
                timeout=settings.getfloat("PROXY_POOL_FETCH_TIMEOUT"),
                rule_runner=rule_runner,
            )
        )
        skipped = [r.source for r in reports if r.skipped]
        for r in reports:
            if r.skipped:
                continue
            status = f"error: {r.error}" if r.error else f"{r.found} found, {r.added} new"
            print(f"{r.source:<24} {status}", file=out)
        if skipped:
            print(
                f"skipped rule source(s) {', '.join(skipped)}: rules are crawled by the crawler, "
                "use `scrapy proxies fetch`",
                file=sys.stderr,
            )
        print(
            f"{len(found)} proxies from {len(sources) - len(skipped)} sources; "
            f"pool holds {pool.store.count()}",
            file=out,
        )
        if check and found:
            validator = validator_for(settings, None, None)
            update, close = progress_bar(len(found), progress, "checking")
            try:
                report = asyncio.run(
                    check_into_store(pool.store, validator, pool.policy, found, update)
                )
            finally:
                close()
            print_check(report, out)
        return 1 if all(r.error for r in reports) else 0
    finally:
        pool.close()


def _name_values(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CliError(f"-a {pair!r}: use -a NAME=VALUE")
        out[name.strip()] = value
    return out


def check(
    settings: PoolSettings,
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
    """Check the proxies given as arguments (added to the pool), or the pool's due ones
    (``--all``: every one)."""
    validator = validator_for(settings, timeout, concurrency)
    pool = open_pool(settings)
    try:
        if args:
            try:
                proxies = [Proxy.parse(a, source="cli") for a in args]
            except ValueError as exc:
                raise CliError(str(exc)) from None
            pool.store.add(proxies)
        else:
            records = pool.store.all() if all else pool.store.due(time.time())
            proxies = slowest_first(records[: int(limit)] if limit else records)
        if limit:
            proxies = proxies[: int(limit)]
        if not proxies:
            print(
                "nothing to check (the pool is empty or nothing is due; --all checks every proxy)",
                file=out,
            )
            return 0
        results: list[CheckResult] = []
        update, close = progress_bar(len(proxies), progress, "checking")

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
        print_check(report, out)
        return 0
    finally:
        pool.close()
