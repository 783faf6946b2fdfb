"""Validator benchmark: 2,000 loopback proxies, the asyncio validator against a 20-thread pool.

The fleet (60% alive: elite, anonymous and transparent; the rest dead ports, slow proxies that
answer after 3 s, and tarpits that never answer) and the judge run in a child process of their
own. Both validators do the same checks with the same 2-second timeout: the judge through the
proxy (reachability, latency, anonymity) and, with ``--https``, also the judge's HTTPS side
through a CONNECT tunnel for every live proxy (a TLS handshake each, which on this 2-core
machine costs more CPU than the plain check). The thread pool is the design of the common free-proxy pools: one proxy per thread,
blocking urllib, 20 threads.

    .venv/bin/python benchmarks/bench_validator.py [--proxies 2000] [--timeout 2] [--threads 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import ssl
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxies.model import Anonymity, Proxy  # noqa: E402
from proxies.validator import Validator, classify  # noqa: E402


def start_fleet(n: int) -> tuple[subprocess.Popen, dict]:
    alive = int(n * 0.6)
    rest = n - alive
    dead, slow = rest // 3, rest // 3
    tarpit = rest - dead - slow
    elite, anonymous = alive // 3, alive // 3
    transparent = alive - elite - anonymous
    cmd = [
        sys.executable, "-m", "tests.proxies.fleet",
        "--elite", str(elite), "--anonymous", str(anonymous), "--transparent", str(transparent),
        "--dead", str(dead), "--slow", str(slow), "--tarpit", str(tarpit), "--delay", "3.0",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info


# built once and shared, so the baseline does not pay for loading CA certificates per proxy
_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE


def thread_check(
    proxy: Proxy, judge: str, judge_https: str | None, timeout: float, own: set[str]
) -> tuple[bool, Anonymity | None, bool | None]:
    """One proxy, blocking, the way thread-pool validators do it."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": proxy.url, "https": proxy.url}),
        urllib.request.HTTPSHandler(context=_TLS),
    )
    try:
        with opener.open(judge, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except Exception:  # noqa: BLE001
        return False, None, None
    anonymity = classify(answer, own)
    https = None
    if judge_https:
        try:
            with opener.open(judge_https, timeout=timeout) as resp:
                resp.read()
                https = resp.status == 200
        except Exception:  # noqa: BLE001
            https = False
    return True, anonymity, https


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--proxies", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=500)
    ap.add_argument("--threads", type=int, default=20)
    ap.add_argument("--tls-concurrency", type=int, default=64, help="HTTPS checks at once")
    ap.add_argument("--https", action="store_true", help="also check HTTPS through CONNECT")
    ap.add_argument(
        "--retry-timeouts",
        action="store_true",
        help="the validator's default second try for timed-out proxies (off here: one check "
        "per proxy, like the thread pool)",
    )
    ap.add_argument("--skip-threads", action="store_true", help="only the asyncio validator")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    proc, info = start_fleet(args.proxies)
    try:
        kinds = [k for k, _ in info["proxies"]]
        proxies = [
            Proxy("127.0.0.1", port, source=f"fleet-{kind}") for kind, port in info["proxies"]
        ]
        expected_alive = sum(k in ("elite", "anonymous", "transparent") for k in kinds)
        print(f"fleet: {len(proxies)} proxies {dict(Counter(kinds))}, judge {info['judge']}")

        validator = Validator(
            info["judge"], https_url=info["judge_https"] if args.https else None, timeout=args.timeout,
            concurrency=args.concurrency, tls_verify=False, retry_timeouts=args.retry_timeouts,
            tls_concurrency=args.tls_concurrency,
        )  # fmt: skip
        start = time.perf_counter()
        results = validator.run(proxies)
        async_s = time.perf_counter() - start
        async_alive = sum(bool(r.alive) for r in results)
        wrong = sum(
            bool(r.alive) != (k in ("elite", "anonymous", "transparent"))
            or (r.alive and r.anonymity is not Anonymity.parse(k))
            for r, k in zip(results, kinds, strict=True)
        )
        checks = (
            "judge + HTTPS via CONNECT"
            if args.https
            else "judge (reachability, latency, anonymity)"
        )
        print(f"checks: {checks}; timeout {args.timeout:g} s")
        print(
            f"asyncio validator (concurrency {args.concurrency}): {len(results)} proxies in "
            f"{async_s:.2f} s = {len(results) / async_s:.0f} proxies/s; alive {async_alive} "
            f"(expected {expected_alive}), misclassified {wrong}"
            + (f", HTTPS ok {sum(bool(r.https) for r in results)}" if args.https else "")
        )
        failed = Counter(
            r.error.split(" [")[0][:70]
            for r, k in zip(results, kinds, strict=True)
            if not r.alive and k in ("elite", "anonymous", "transparent")
        )
        if failed:
            print(f"  live proxies reported dead: {dict(failed.most_common(3))}")
        if args.skip_threads:
            return
        own = set(validator.own_addresses)
        judge_https = info["judge_https"] if args.https else None
        start = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            tres = list(
                pool.map(
                    lambda p: thread_check(p, info["judge"], judge_https, args.timeout, own),
                    proxies,
                )
            )
        thread_s = time.perf_counter() - start
        thread_alive = sum(alive for alive, _, _ in tres)
        print(
            f"thread pool ({args.threads} threads, one proxy per thread): {len(tres)} proxies in "
            f"{thread_s:.2f} s = {len(tres) / thread_s:.0f} proxies/s; alive {thread_alive}"
            + (f", HTTPS ok {sum(bool(h) for _, _, h in tres)}" if args.https else "")
        )
        print(
            f"speed-up: asyncio validator is {thread_s / async_s:.1f}x faster than the thread pool"
        )
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
