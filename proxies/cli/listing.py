"""``list`` (usable proxies, best first) and ``stats`` (counts, per-source health)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from proxies.cli.checking import open_pool
from proxies.cli.errors import CliError
from proxies.model import Anonymity
from proxies.pool_store import summary
from proxies.scoring import ProxyRecord
from proxies.settings import PoolSettings


def list_(
    settings: PoolSettings,
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
    pool = open_pool(settings)
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
    settings: PoolSettings,
    args: list[str],
    out: TextIO,
    json_output: bool = False,
    drop_dead_sources: bool = False,
    **_: Any,
) -> int:
    """Counts, and per source how many proxies are alive: a source with nothing alive is flagged."""
    pool = open_pool(settings)
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
