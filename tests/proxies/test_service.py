"""The service end to end, in-process: free-proxy source pages list fleet proxies; the service
fetches them, checks them, re-checks on schedule, and serves the live ones over its API."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

from proxies.checker import RecheckLoop
from proxies.pool import memory_pool
from proxies.scoring import ScoringPolicy
from proxies.service import run_service
from proxies.sources import UrlSource
from proxies.validator import Validator
from tests.proxies.fleet import FleetProcess
from tests.proxies.source_pages import SourceSite


def test_service_fetches_checks_and_serves(fleet: FleetProcess) -> None:
    specs = [s for s in fleet.fleet.specs if not s.auth][:40]
    alive = {
        f"127.0.0.1:{s.port}"
        for s in specs
        if s.kind in ("elite", "anonymous", "transparent", "slow")
    }
    pool = memory_pool()
    validator = Validator(fleet.judge.url, timeout=1.0)
    with SourceSite([s.proxy() for s in specs], []) as base:

        async def main() -> dict:
            stop = asyncio.Event()
            ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(
                run_service(
                    pool,
                    validator,
                    [UrlSource("free-text", f"{base}/free.txt", refresh=600)],
                    "127.0.0.1",
                    0,
                    stop,
                    on_ready=ready.set_result,
                )  # fmt: skip
            )
            port = await ready
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                got = await asyncio.to_thread(_get_json, f"http://127.0.0.1:{port}/count/")
                if got["count"] >= len(alive):
                    break
                await asyncio.sleep(0.2)
            everything = await asyncio.to_thread(_get_json, f"http://127.0.0.1:{port}/all/")
            stop.set()
            await asyncio.wait_for(task, 10)
            return everything

        everything = asyncio.run(main())
    assert {p["proxy"] for p in everything} == alive
    assert all(p["source"] == "free-text" for p in everything)
    recs = pool.store.all()
    assert len(recs) == len(specs) and all(r.checked_at is not None for r in recs)


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_recheck_loop_follows_the_schedule(fleet: FleetProcess) -> None:
    specs = [s for s in fleet.fleet.specs if not s.auth and s.kind in ("elite", "dead")][:10]
    policy = ScoringPolicy(recheck_good=0.6, recheck_base=1.2, recheck_max=100)
    pool = memory_pool([s.proxy() for s in specs], policy=policy)
    loop = RecheckLoop(pool.store, Validator(fleet.judge.url, timeout=1.0), policy, min_sleep=0.2)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))
        await asyncio.sleep(2.0)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    checks = {s.kind: [] for s in specs}
    for s in specs:
        checks[s.kind].append(pool.store.get(s.proxy().key).checks)
    # good ones every 0.6 s (about 3 checks in 2 s), failing ones at 1.2 s then 2.4 s (2 checks),
    # and never a tight loop
    assert all(2 <= n <= 4 for n in checks["elite"]), checks
    assert all(1 <= n <= 2 for n in checks["dead"]), checks
    assert loop.rounds <= 6
