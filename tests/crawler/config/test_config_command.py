"""``scrapy config show|check`` and the deployment's configuration as commands see it, run as a
user runs them: every layer of the precedence in one ``config show``, secrets never printed,
``config check``'s exit status, and ``CRAWLER_STORE_URI`` honoured by a real command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.crawler.crawl import scrapy

RULE = (
    "name: cfgrule\n"
    "start: [{url: 'http://127.0.0.1:1/', page: p}]\n"
    "pages: {p: {fields: {t: {css: title}}}}\n"
    "settings: {DOWNLOAD_DELAY: 0.25}\n"
)


def environment(tmp_path: Path, config: str, **more: str) -> dict[str, str]:
    path = tmp_path / "etc" / "crawler.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(config, encoding="utf-8")
    return {
        "CRAWLER_CONFIG": str(path),
        "CRAWLER_STATE_DIR": str(tmp_path / "state"),
        "CRAWLER_DATA_DIR": str(tmp_path / "data"),
        **more,
    }


def test_show_every_layer_with_its_source_and_no_secret(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cfgrule.yaml").write_text(RULE)
    (tmp_path / "ftp.password").write_text("file-secret-9\n")
    config = (
        f"RULES_DIR: {rules}\n"
        "LOG_LEVEL: WARNING\n"
        "RETRY_TIMES: 4\n"
        "DOWNLOAD_TIMEOUT: 40\n"
        "DOWNLOAD_DELAY: 2\n"
        "STORE_URI: {env: TEST_MONGO_URI}\n"
        f"FTP_PASSWORD: {{file: {tmp_path / 'ftp.password'}}}\n"
    )
    env = environment(
        tmp_path,
        config,
        TEST_MONGO_URI="mongodb://bob:env-secret-7@db:27017/items",
        CRAWLER_RETRY_TIMES="6",
        CRAWLER_REDIS_URL="redis://:redis-secret-5@127.0.0.1:6379/0",
    )
    names = [
        "DEPTH_LIMIT",  # default
        "CONCURRENT_ITEMS",  # project (crawler/settings.py)
        "LOG_LEVEL",  # file
        "RETRY_TIMES",  # file, then environment
        "DOWNLOAD_TIMEOUT",  # file, then -s
        "DOWNLOAD_DELAY",  # file, then the rule
        "STORE_URI",
        "FTP_PASSWORD",
        "REDIS_URL",
        "TELNETCONSOLE_PASSWORD",
    ]
    proc = scrapy(
        "config", "show", *names, "--rule", "cfgrule", "--json",
        "-s", "DOWNLOAD_TIMEOUT=50", "-s", "TELNETCONSOLE_PASSWORD=cmdline-secret-3",
        env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for secret in ("env-secret-7", "file-secret-9", "redis-secret-5", "cmdline-secret-3"):
        assert secret not in proc.stdout + proc.stderr
    shown = {row["name"]: (row["value"], row["source"]) for row in json.loads(proc.stdout)}
    where = env["CRAWLER_CONFIG"]
    assert shown == {
        "DEPTH_LIMIT": (0, "default"),
        "CONCURRENT_ITEMS": (16, "project (crawler.settings)"),
        "LOG_LEVEL": ("WARNING", f"{where}:2:1"),
        "RETRY_TIMES": (6, "environment CRAWLER_RETRY_TIMES"),
        "DOWNLOAD_TIMEOUT": ("50", "-s"),
        "DOWNLOAD_DELAY": (0.25, "rule cfgrule"),
        "STORE_URI": ("***", f"{where}:6:1"),
        "FTP_PASSWORD": ("***", f"{where}:7:1"),
        "REDIS_URL": ("redis://***@127.0.0.1:6379/0", "environment CRAWLER_REDIS_URL"),
        "TELNETCONSOLE_PASSWORD": ("***", "-s"),
    }


def test_check_exit_status_and_every_command_stopped_by_a_wrong_file(tmp_path):
    good = scrapy("config", "check", env=environment(tmp_path, "LOG_LEVEL: DEBUG\n"))
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("ok: ") and "(1 settings)" in good.stdout
    wrong = "LOG_LEVEL: DEBUG\nRETRY_TIMES: many\nSTORE_URI: mongodb://u:pw-inline-1@db/x\n"
    env = environment(tmp_path, wrong, CRAWLER_STORE_URL="x")
    bad = scrapy("config", "check", env=env)
    where = env["CRAWLER_CONFIG"]
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "warning: environment variable CRAWLER_STORE_URL is not a setting "
        "(did you mean 'CRAWLER_STORE_URI'?)",
        f"{where}:2:1: RETRY_TIMES: expected an integer, got 'many'",
        f"{where}:3:1: STORE_URI: a URL with a password written inline: give it as "
        "{env: VARIABLE} or {file: /path/outside/the/checkout}",
    ]
    listed = scrapy("list", env=env)  # any command: stopped before it runs
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    assert listed.stdout == "" and f"{where}:2:1: RETRY_TIMES" in listed.stderr


def test_crawler_store_uri_is_the_store_of_a_real_command(tmp_path):
    store = tmp_path / "from-the-environment.db"
    env = environment(tmp_path, "", CRAWLER_STORE_URI=f"sqlite:///{store}")
    proc = scrapy("store", "stats", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"sqlite:///{store}" in proc.stdout
    assert store.exists()
