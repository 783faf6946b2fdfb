"""``python -m proxies`` on its own: proxies/ and vocab/ copied to a temporary directory, run
there with only that directory on the path and ``crawler`` blocked, against loopback servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.proxies.fleet import FleetProcess
from tests.proxies.source_pages import SourceSite

ROOT = Path(__file__).resolve().parents[2]

BLOCK_CRAWLER = """
import sys

class _NoCrawler:
    def find_spec(self, name, path=None, target=None):
        if name == "crawler" or name.startswith("crawler.") or name == "scrapy":
            raise ImportError(f"{name} must not be imported by the proxy pool")
        return None

sys.meta_path.insert(0, _NoCrawler())
"""


@pytest.fixture()
def standalone(tmp_path: Path):
    """Run ``python -m proxies ...`` from a copy of proxies/ and vocab/ alone."""
    pkg = tmp_path / "pkg"
    for name in ("proxies", "vocab"):
        shutil.copytree(ROOT / name, pkg / name, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "sitecustomize.py").write_text(BLOCK_CRAWLER)
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_POOL_")}
    env.update(PYTHONPATH=str(pkg), PYTHONNOUSERSITE="1")
    store = ["-s", f"PROXY_POOL_STORE=sqlite:///{data / 'proxies.db'}"]
    store += ["-s", f"PROXY_POOL_DATA_DIR={data}"]

    def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "proxies", *args, *store],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    run.env = env  # type: ignore[attr-defined]
    run.data = data  # type: ignore[attr-defined]
    run.cwd = tmp_path  # type: ignore[attr-defined]
    return run


def test_crawler_cannot_be_imported_there(standalone) -> None:
    res = subprocess.run(
        [sys.executable, "-c", "import crawler"],
        cwd=standalone.cwd,
        env=standalone.env,
        capture_output=True,
        text=True,
    )
    assert res.returncode != 0 and "must not be imported" in res.stderr


def test_fetch_check_list_stats_without_the_crawler(standalone, fleet: FleetProcess) -> None:
    specs = [s for s in fleet.fleet.specs if not s.auth]
    picked = [next(s for s in specs if s.kind == k) for k in ("elite", "anonymous", "dead")]
    rule = json.dumps([{"name": "a-rule", "rule": "free_proxy_site"}])
    with SourceSite([s.proxy() for s in picked], []) as base:
        fetched = standalone("fetch", "--url", f"{base}/free.txt")
        skipped = standalone("fetch", "-s", f"PROXY_POOL_SOURCES={rule}")
    assert fetched.returncode == 0, fetched.stderr
    assert "url                      3 found, 3 new" in fetched.stdout
    assert "pool holds 3" in fetched.stdout
    # a rule source needs the crawler: skipped, one line saying what to use instead
    assert skipped.returncode == 1 and "Traceback" not in skipped.stderr
    assert skipped.stderr.count("use `scrapy proxies fetch`") == 1, skipped.stderr

    checked = standalone("check", "--all", "-v", "-s", f"PROXY_POOL_JUDGE_URL={fleet.judge.url}")
    assert checked.returncode == 0, checked.stderr
    assert "checked 3 in" in checked.stdout and "2 alive, 1 dead" in checked.stdout
    elite = picked[0]
    assert f"http://127.0.0.1:{elite.port} alive" in checked.stdout

    listed = standalone("list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["proxy"]: r for r in json.loads(listed.stdout)}
    assert rows[f"http://127.0.0.1:{elite.port}"]["anonymity"] == "elite"
    assert rows[f"http://127.0.0.1:{picked[1].port}"]["anonymity"] == "anonymous"
    assert len(rows) == 2  # the dead one is not usable

    stats = standalone("stats")
    assert stats.returncode == 0, stats.stderr
    assert "total 3  alive 2  dead 1" in stats.stdout
    # the deployment secret was generated where the settings said, private
    secret = standalone.data / "key-secret"
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600


def test_environment_overrides_and_bad_settings(standalone, fleet: FleetProcess) -> None:
    env = dict(standalone.env, PROXY_POOL_JUDGE_URL="http://127.0.0.1:9/")
    res = subprocess.run(
        [sys.executable, "-m", "proxies", "check", "127.0.0.1:1", "-s", "PROXY_POOL_STORE=memory:"],
        cwd=standalone.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "the judge http://127.0.0.1:9/ does not answer" in res.stderr
    assert "Traceback" not in res.stderr
    res = standalone("list", "-s", "PROXY_POOL_NOPE=1")
    assert res.returncode == 2 and "not a proxy pool setting" in res.stderr
    res = standalone("list", "-s", "PROXY_POOL_PICK_TOP=many")
    assert res.returncode == 2 and "PROXY_POOL_PICK_TOP must be a number" in res.stderr
