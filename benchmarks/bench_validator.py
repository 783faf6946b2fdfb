"""Validator benchmark: the project's validator against a plain aiohttp checker, side by side.

One loopback fleet of 2,000 proxies (60% alive: elite, anonymous and transparent; 10% slow,
answering after 1.5 s, so alive; 20% refusing connections; 10% tarpits that accept and never
answer) and the judge run in a child process of their own. In the same run, on the same
fleet, with the same 2 s timeout and concurrency 500:

- **plain**: the floor, a bare asyncio/aiohttp checker: one GET of the judge per proxy
  (and, with ``--https``, one GET of the judge's HTTPS side through CONNECT per live proxy),
  alive when it answers 200; nothing read from the answer;
- **validator**: ``proxies.validator.Validator`` (judge's own address asked first, answers
  parsed, anonymity classified, results built);
- **command**: ``python -m proxies check --all`` in a subprocess over a SQLite store holding
  the fleet: start-up, store reads and writes, scoring, included;
- **plain script**: the plain checker run the same way, as ``python benchmarks/plain_checker.py``
  in a subprocess (its start-up included): what the command compares with;
- **recheck**: the command again on the same store: the pool re-checking proxies whose last
  results it knows (it starts the slowest first: proxies/checker.py ``slowest_first``);
- **threads**: 20 threads, one proxy per thread, blocking urllib (jhao104/proxy_pool style).

plain, validator, command and plain script run ``--runs`` times each, interleaved; the medians
are printed with their ratios to plain's median, and the command's to the plain script's. Every validator run must classify all 2,000 proxies
correctly (alive or not, and the anonymity of the live ones).

    .venv/bin/python benchmarks/bench_validator.py [--https] [--runs 5] [--skip-threads]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.plain_checker import plain_check  # noqa: E402
from proxies.model import Anonymity, Proxy  # noqa: E402
from proxies.settings import PoolSettings  # noqa: E402
from proxies.validator import CheckResult, Validator, classify  # noqa: E402

ALIVE = ("elite", "anonymous", "transparent", "slow")
EXPECTED = {
    "elite": Anonymity.ELITE,
    "slow": Anonymity.ELITE,
    "anonymous": Anonymity.ANONYMOUS,
    "transparent": Anonymity.TRANSPARENT,
}


def start_fleet(n: int, slow_delay: float) -> tuple[subprocess.Popen, dict]:
    alive = int(n * 0.6)
    slow, dead = int(n * 0.1), int(n * 0.2)
    tarpit = n - alive - slow - dead
    elite = anonymous = alive // 3
    transparent = alive - elite - anonymous
    cmd = [
        sys.executable, "-m", "tests.proxies.fleet",
        "--elite", str(elite), "--anonymous", str(anonymous), "--transparent", str(transparent),
        "--slow", str(slow), "--dead", str(dead), "--tarpit", str(tarpit),
        "--delay", str(slow_delay),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


# -- jhao104/proxy_pool style: threads, blocking urllib ------------------------------------------
_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE


def thread_check(
    proxy: Proxy, judge: str, judge_https: str | None, timeout: float, own: set[str]
) -> tuple[bool, Anonymity | None]:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": proxy.url, "https": proxy.url}),
        urllib.request.HTTPSHandler(context=_TLS),
    )
    try:
        with opener.open(judge, timeout=timeout) as resp:
            answer = json.loads(resp.read())
        if judge_https:
            with opener.open(judge_https, timeout=timeout) as resp:
                resp.read()
    except Exception:  # noqa: BLE001
        return False, None
    return True, classify(answer, own)


def misclassified(results: list[CheckResult], kinds: list[str], https: bool) -> int:
    wrong: Counter[str] = Counter()
    for res, kind in zip(results, kinds, strict=True):
        ok = bool(res.alive) == (kind in ALIVE)
        if ok and res.alive:
            ok = res.anonymity is EXPECTED[kind] and (res.https is True if https else True)
        if not ok:
            what = "https failed" if res.alive else (res.error or "dead")[:40]
            wrong[f"{kind}: {what}"] += 1
    if wrong:
        print(f"  misclassified: {dict(wrong.most_common(4))}")
    return sum(wrong.values())


def run_plain_script(
    proxies: list[Proxy], judge: str, judge_https: str | None, args
) -> tuple[float, int]:
    """``python benchmarks/plain_checker.py`` in a subprocess: its wall time and how many
    proxies answered."""
    with tempfile.TemporaryDirectory(prefix="bench-validator-") as tmp:
        listing = Path(tmp) / "proxies.txt"
        listing.write_text("".join(f"{p.url}\n" for p in proxies), encoding="utf-8")
        cmd = [
            sys.executable, str(ROOT / "benchmarks" / "plain_checker.py"), judge, str(listing),
            "--timeout", str(args.timeout), "--concurrency", str(args.concurrency),
        ]  # fmt: skip
        if judge_https:
            cmd += ["--https", judge_https]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"the plain script failed: {done.stdout}{done.stderr}")
        return seconds, int(done.stdout.strip())


def run_command(
    proxies: list[Proxy], judge: str, judge_https: str | None, args
) -> list[tuple[float, int]]:
    """``python -m proxies check --all`` twice over a SQLite store of the fleet (a first check,
    then a re-check that knows each proxy's last result): wall time and alive count of each."""
    from proxies.pool_store import EmbeddedStore

    with tempfile.TemporaryDirectory(prefix="bench-validator-") as tmp:
        db = Path(tmp) / "proxies.db"
        store = EmbeddedStore(db)
        store.add(proxies)
        store.close()
        cmd = [
            sys.executable, "-m", "proxies", "check", "--all", "--no-progress",
            "--timeout", str(args.timeout), "--concurrency", str(args.concurrency),
            "-s", f"PROXY_POOL_STORE=sqlite:///{db}", "-s", f"PROXY_POOL_JUDGE_URL={judge}",
            "-s", f"PROXY_POOL_DATA_DIR={tmp}", "-s", "PROXY_POOL_JUDGE_TLS_VERIFY=false",
        ]  # fmt: skip
        if args.tls_concurrency:
            cmd += ["-s", f"PROXY_POOL_CHECK_TLS_CONCURRENCY={args.tls_concurrency}"]
        if judge_https:
            cmd += ["-s", f"PROXY_POOL_JUDGE_HTTPS_URL={judge_https}"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        runs = []
        for _ in range(2):
            start = time.perf_counter()
            done = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
            )
            seconds = time.perf_counter() - start
            if done.returncode != 0 or "checked" not in done.stdout:
                raise RuntimeError(f"the command failed: {done.stdout}{done.stderr}")
            last = done.stdout.strip().splitlines()[-1]
            runs.append((seconds, int(last.split(": ", 1)[1].split(" alive")[0])))
        return runs


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--proxies", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=500)
    ap.add_argument("--slow-delay", type=float, default=1.5, help="seconds a slow proxy waits")
    ap.add_argument("--threads", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5, help="runs of plain, validator and command")
    ap.add_argument("--https", action="store_true", help="also check HTTPS through CONNECT")
    ap.add_argument(
        "--tls-concurrency", type=int, help="HTTPS checks at once (default: the setting's)"
    )
    ap.add_argument("--skip-threads", action="store_true", help="no thread-pool run (~40 s)")
    ap.add_argument("--skip-command", action="store_true", help="no `python -m proxies check`")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    proc, info = start_fleet(args.proxies, args.slow_delay)
    try:
        kinds = [k for k, _ in info["proxies"]]
        proxies = [Proxy("127.0.0.1", port, source=f"fleet-{k}") for k, port in info["proxies"]]
        judge, judge_https = info["judge"], info["judge_https"] if args.https else None
        print(f"fleet: {len(proxies)} proxies {dict(Counter(kinds))}")
        checks = "judge + HTTPS through CONNECT" if args.https else "judge"
        print(
            f"checks: {checks}; timeout {args.timeout:g} s; concurrency {args.concurrency}; "
            f"{args.runs} runs each"
        )
        overrides = {
            "PROXY_POOL_JUDGE_URL": judge,
            "PROXY_POOL_JUDGE_HTTPS_URL": judge_https,
            "PROXY_POOL_JUDGE_TLS_VERIFY": False,
            "PROXY_POOL_CHECK_TIMEOUT": args.timeout,
            "PROXY_POOL_CHECK_CONCURRENCY": args.concurrency,
        }
        if args.tls_concurrency:
            overrides["PROXY_POOL_CHECK_TLS_CONCURRENCY"] = args.tls_concurrency
        settings = PoolSettings(overrides=overrides)  # the defaults, as the command has them
        times: dict[str, list[float]] = {
            "plain": [], "validator": [], "command": [], "plain script": [], "recheck": []
        }  # fmt: skip
        wrong_runs: list[int] = []
        plain_alive: list[int] = []
        command_alive: list[int] = []
        script_alive: list[int] = []
        recheck_alive: list[int] = []
        for _ in range(args.runs):
            start = time.perf_counter()
            urls = [p.url for p in proxies]
            alive = asyncio.run(
                plain_check(urls, judge, judge_https, args.timeout, args.concurrency)
            )
            times["plain"].append(time.perf_counter() - start)
            plain_alive.append(sum(alive))

            validator = Validator.from_settings(settings)
            start = time.perf_counter()
            results = validator.run(proxies)
            times["validator"].append(time.perf_counter() - start)
            wrong_runs.append(misclassified(results, kinds, args.https))

            if not args.skip_command:
                (seconds, alive_count), (again, again_alive) = run_command(
                    proxies, judge, judge_https, args
                )
                times["command"].append(seconds)
                command_alive.append(alive_count)
                times["recheck"].append(again)
                recheck_alive.append(again_alive)
                seconds, alive_count = run_plain_script(proxies, judge, judge_https, args)
                times["plain script"].append(seconds)
                script_alive.append(alive_count)

        floor = statistics.median(times["plain"])
        expected_alive = sum(k in ALIVE for k in kinds)
        for name, values in times.items():
            if not values:
                continue
            med = statistics.median(values)
            runs = " ".join(f"{v:.2f}" for v in values)
            extra = ""
            if name == "plain":
                extra = f"; alive {min(plain_alive)}..{max(plain_alive)} of {expected_alive}"
            elif name == "validator":
                extra = f"; misclassified per run {wrong_runs} of {len(proxies)}"
            elif name == "command":
                script = statistics.median(times["plain script"])
                extra = (
                    f"; alive per run {command_alive} of {expected_alive}; "
                    f"{med / script:4.2f}x plain script"
                )
            elif name == "plain script":
                extra = f"; alive per run {script_alive} of {expected_alive}"
            elif name == "recheck":
                extra = (
                    f"; alive per run {recheck_alive} of {expected_alive}; "
                    f"{med / statistics.median(times['plain script']):4.2f}x plain script"
                )
            print(
                f"{name:<12} median {med:5.2f} s  ({med / floor:4.2f}x plain)  runs: {runs}{extra}"
            )
        if args.skip_threads:
            return
        own = set(validator.own_addresses)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            tres = list(
                pool.map(lambda p: thread_check(p, judge, judge_https, args.timeout, own), proxies)
            )
        thread_s = time.perf_counter() - start
        twrong = sum(
            alive != (k in ALIVE) or (alive and anon is not EXPECTED[k])
            for (alive, anon), k in zip(tres, kinds, strict=True)
        )
        print(
            f"{'threads':<12} {thread_s:12.2f} s  ({thread_s / floor:4.2f}x plain)  "
            f"{args.threads} threads, one proxy each; misclassified {twrong}"
        )
        print(
            f"validator is {thread_s / statistics.median(times['validator']):.1f}x faster than "
            "the thread pool"
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
