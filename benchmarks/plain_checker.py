"""The floor of benchmarks/bench_validator.py: a bare asyncio/aiohttp proxy checker.

One GET of the judge per proxy (and, with an HTTPS judge, one GET of its HTTPS side through
CONNECT per live proxy), alive when it answers 200; nothing read from the answer, nothing
stored. The benchmark calls :func:`plain_check` in its own process, and runs this file as a
script to compare with ``python -m proxies check``, which pays for its own start-up too:

    python benchmarks/plain_checker.py JUDGE_URL PROXIES_FILE [--https URL] [--timeout 2]
        [--concurrency 500]

``PROXIES_FILE`` holds one proxy URL per line; the script prints how many answered.
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp


async def plain_check(
    proxy_urls: list[str], judge: str, judge_https: str | None, timeout: float, concurrency: int
) -> list[bool]:
    slots = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=0, ssl=False)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as session:

        async def one(proxy: str) -> bool:
            async with slots:
                try:
                    async with session.get(judge, proxy=proxy) as resp:
                        await resp.read()
                        alive = resp.status == 200
                except Exception:  # noqa: BLE001
                    return False
                if alive and judge_https:
                    try:
                        async with session.get(judge_https, proxy=proxy) as resp:
                            await resp.read()
                    except Exception:  # noqa: BLE001
                        pass
                return alive

        return await asyncio.gather(*(one(p) for p in proxy_urls))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("judge")
    ap.add_argument("proxies_file")
    ap.add_argument("--https", dest="judge_https")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=500)
    args = ap.parse_args()
    with open(args.proxies_file, encoding="utf-8") as f:
        urls = [line.strip() for line in f if line.strip()]
    alive = asyncio.run(
        plain_check(urls, args.judge, args.judge_https, args.timeout, args.concurrency)
    )
    print(sum(alive))


if __name__ == "__main__":
    main()
