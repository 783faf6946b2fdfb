"""Three crawl processes share five accounts of one pool through a real Redis, against the
sample site's members' area; the site's own log holds them to every limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.accounts import new_key
from tests.crawler.antiban.support import CRAWL_SCRIPT, REPO
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer
from tests.sample_site import members
from tests.sample_site.members import ACCOUNTS, BAN_AFTER, BANNED, site_log

PROCESSES, PAGES_EACH = 3, 12
MIN_INTERVAL, QUOTA = 0.4, 10
# Grants are spaced exactly (by Redis's clock); a request then reaches the site after its
# process's loop gets to send it, which on two busy shared cores varies by up to ~0.15 s: one
# arrival may come early by that much, never the account's pace as a whole.
JITTER = 0.2


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


def accounts_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The five accounts, passwords in variables (as a deployment keeps them)."""
    env, lines = {}, ["members:"]
    for username, password in ACCOUNTS.items():
        name = members.account_name(username)
        var = f"MEMBERS_{name.upper()}_PASSWORD"
        env[var] = password
        lines.append(f"  - {{name: {name}, username: {username}, password_env: {var}}}")
    path = tmp_path / "secrets" / "accounts.yaml"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    return path, env


def start_crawl(n: int, urls: list[str], settings: dict, tmp_path: Path, env: dict) -> tuple:
    out = tmp_path / f"result-{n}.json"
    settings = {
        **settings,
        "DEFAULT_REQUEST_HEADERS": {"X-Client": f"process-{n}"},
        "FEEDS": {str(tmp_path / f"items-{n}.jsonl"): {"format": "jsonlines"}},
    }
    args = {"urls": urls, "settings": settings, "out": str(out)}
    log = open(tmp_path / f"crawl-{n}.log", "w")  # noqa: SIM115 - closed after the wait
    proc = subprocess.Popen(
        [sys.executable, str(CRAWL_SCRIPT), json.dumps(args)],
        cwd=REPO,
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, log, out


@pytest.mark.timeout(60)
def test_three_processes_share_five_accounts(tmp_path, redis_url, make_sample_site):
    site = make_sample_site(books=5)
    path, env = accounts_file(tmp_path)
    env["CRAWLER_ACCOUNTS_KEY"] = new_key()
    settings = {
        "LOG_LEVEL": "INFO",
        "CONCURRENT_REQUESTS": 4,
        "BAN_RETRY_DELAY": 0.1,
        "ACCOUNTS_FILE": str(path),
        "ACCOUNTS_POOL": "members",
        "ACCOUNTS_REDIS_URL": redis_url,
        "ACCOUNTS_MIN_INTERVAL": MIN_INTERVAL,
        "ACCOUNTS_DAILY_QUOTA": QUOTA,
        "ACCOUNTS_MAX_BANS": 1,
        "ACCOUNTS_POLL": 0.1,
        "ACCOUNTS_WAIT_MAX": 30,
        "ACCOUNTS_LEASE_TTL": 5,
        "SESSION_LOGIN_URL": f"{site.url}/members/login",
        "SESSION_LOGIN_SUCCESS_MARKER": "Welcome",
    }
    pages = [f"{site.url}/members/catalogue/{n}.html" for n in range(1, 1 + PROCESSES * PAGES_EACH)]
    started = time.monotonic()
    crawls = [
        start_crawl(n, pages[n::PROCESSES], settings, tmp_path, env) for n in range(PROCESSES)
    ]
    try:
        for proc, _, _ in crawls:
            proc.wait(timeout=50)
    finally:
        for proc, log, _ in crawls:
            if proc.poll() is None:
                proc.kill()
            log.close()
    seconds = time.monotonic() - started
    logs = [(tmp_path / f"crawl-{n}.log").read_text() for n in range(PROCESSES)]
    results = [json.loads(out.read_text()) for _, _, out in crawls]
    assert all(p.returncode == 0 for p, _, _ in crawls), "\n".join(x[-3000:] for x in logs)

    # every item stored, each once
    items = [
        json.loads(line)["url"]
        for n in range(PROCESSES)
        for line in (tmp_path / f"items-{n}.jsonl").read_text().splitlines()
    ]
    assert sorted(items) == sorted(pages), "\n".join(x[-2000:] for x in logs)

    log = site_log(site.app)
    requests = log["requests"]
    assert log["violations"] == [], log["violations"]
    for account, seen in requests.items():
        times = [t for t, _, _ in seen]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert not gaps or min(gaps) >= MIN_INTERVAL - JITTER, (account, gaps)
        # over all its requests, the account kept its pace: jitter does not add up
        assert times[-1] - times[0] >= (len(times) - 1) * MIN_INTERVAL - JITTER, (account, gaps)
        assert len(seen) <= QUOTA, (account, len(seen))
    # the banned account: retired at its first ban page, never used after it (nor logged in)
    bob = requests[BANNED]
    banned_at = next(t for t, _, status in bob if status == 403)
    assert [status for _, _, status in bob] == [200] * BAN_AFTER + [403]
    assert all(t <= banned_at for t, _ in log["logins"][BANNED])
    # the quota was felt: accounts ran out and sessions moved on to others
    stats = [r["stats"] for r in results]
    total = {
        k: sum(s.get(k, 0) for s in stats)
        for k in {k for s in stats for k in s if k.startswith("accounts/")}
    }
    assert total["accounts/retired"] == 1 and total["accounts/bans"] == 1
    assert total["accounts/quota_exhausted"] >= 1
    assert total["accounts/leased"] >= PROCESSES + 1
    assert total.get("accounts/lost", 0) == 0  # the heartbeat kept every lease (TTL 5 s)
    # a process that took over an account (eve or dee, when the others ran out) reused its
    # cookies instead of logging in again
    logins = sum(len(v) for v in log["logins"].values())
    assert total["accounts/cookies_reused"] >= 1
    assert (
        logins
        == total["accounts/logins"]
        == total["accounts/leased"] - total["accounts/cookies_reused"]
    )
    # the pool's own record, as `scrapy accounts list` and the API show it
    import redis

    from crawler.accounts import AccountPool, RedisAccountStore
    from crawler.accounts.specs import load_accounts_file

    pool = AccountPool(
        load_accounts_file(path, environ=env), RedisAccountStore(redis.Redis.from_url(redis_url))
    )
    rows = {row["account"]: row for row in pool.status("members")}
    pool.close()
    assert (rows[BANNED]["state"], rows[BANNED]["retired"]) == ("retired", "1 ban")
    assert all(row["holders"] == [] for row in rows.values())  # every lease given back
    assert sum(row["requests_today"] for row in rows.values()) == sum(map(len, requests.values()))
    # nothing secret in any log or stat
    dumped = json.dumps(stats) + "".join(logs)
    for password in ACCOUNTS.values():
        assert password not in dumped
    assert env["CRAWLER_ACCOUNTS_KEY"] not in dumped
    assert "msid" not in json.dumps(stats)
    print(f"3 crawls, {len(pages)} pages, {seconds:.1f} s")
