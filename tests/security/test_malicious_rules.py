"""A corpus of malicious rule files (tests/security/corpus/): each is refused with its file,
line and column, none gives a traceback, and a good rule beside them still lists, validates and
crawls."""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import pytest

from crawler.rules.yamlpos import YamlError, load_yaml
from tests.crawler.crawl import ROOT, crawl, scrapy

CORPUS = Path(__file__).parent / "corpus"

EXPECTED = {
    "addons.yaml": "4:3: settings.ADDONS: ADDONS cannot be set by a rule",
    "alias_bomb.yaml": "1:32: e[1][5][2][2][4]: more than 20,000 values once aliases are expanded",
    "antiban_policy_class.yaml": "4:13: antiban.proxies.policy: must be one of random",
    "antiban_pool_class.yaml": "4:13: antiban.proxies.pool: must be one of static",
    "commands_module.yaml": "4:3: settings.COMMANDS_MODULE: COMMANDS_MODULE cannot be set",
    "cookie_file_read.yaml": "4:14: antiban.sessions.cookies_files: unknown field",
    "data_start.yaml": "1:10: start[0].url: 'data:text/html,<title>x</title>': only http and https",
    "deep_nesting.yaml": "1:71: nesting deeper than 64 levels",
    "downloader_middlewares.yaml": "4:3: settings.DOWNLOADER_MIDDLEWARES: DOWNLOADER_MIDDLEWARES cannot",
    "extensions_import.yaml": "4:3: settings.EXTENSIONS: EXTENSIONS cannot be set by a rule",
    "feeds_write.yaml": "4:3: settings.FEEDS: FEEDS cannot be set by a rule",
    "file_start.yaml": "1:10: start[0].url: 'file:///etc/hostname': only http and https",
    "file_via_arg.yaml": "2:10: start[0].url: 'file:///etc/hostname': only http and https",
    "ftp_start.yaml": "1:10: start[0].url: 'ftp://127.0.0.1/secret.txt': only http and https",
    "huge_int.yaml": "1:60: start[0].priority: a number with more than 30 digits",
    "huge_range.yaml": "2:10: start[0].url: the start URLs stand for 100,000,000+ requests",
    "item_pipelines.yaml": "4:3: settings.ITEM_PIPELINES: ITEM_PIPELINES cannot be set by a rule",
    "jobdir.yaml": "4:3: settings.JOBDIR: JOBDIR cannot be set by a rule",
    "log_file.yaml": "4:3: settings.LOG_FILE: LOG_FILE cannot be set by a rule",
    "nul_char.yaml": "2:34: invalid YAML: character '\\x00' (U+0000) is not allowed",
    "plugin_modules.yaml": "4:3: settings.PLUGIN_MODULES: PLUGIN_MODULES cannot be set by a rule",
    "proxy_file_read.yaml": "4:13: antiban.proxies.file: unknown field 'file'",
    "python_apply.yaml": "1:15: start[0].url: YAML tag '!!python/object/apply:os.system' is not allowed",
    "python_tag.yaml": "1:15: start[0].url: YAML tag '!!python/name:os.system' is not allowed",
    "recursive_alias.yaml": "1:8: start[0].carry: an alias refers to a value that contains it",
    "s3_start.yaml": "1:10: start[0].url: 's3://bucket/key': only http and https",
    "spider_loader_class.yaml": "4:3: settings.SPIDER_LOADER_CLASS: SPIDER_LOADER_CLASS cannot be set",
    "store_uri.yaml": "4:3: settings.STORE_URI: STORE_URI cannot be set by a rule",
    "zero_step.yaml": "1:10: start[0].url: range step must be positive in '{0..10..0}'",
}

GOOD = """\
args: {site: "http://127.0.0.1:8000"}
start: [{url: "{site}/book/3.html", page: book}]
pages:
  book:
    fields: {title: {css: "div.product_main h1::text", required: true}}
"""


def test_the_corpus_is_all_covered():
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(CORPUS, rules)
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    (rules / "good.yaml").write_text(GOOD)
    return rules


def test_validate_refuses_each_with_its_position_and_no_traceback(rules: Path):
    proc = scrapy("validate", "-s", f"RULES_DIR={rules}", timeout=120)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    for name, expected in EXPECTED.items():
        assert f"{rules}/{name}:{expected}" in out, (name, out)
    assert "Traceback" not in out
    assert f"{len(EXPECTED) + 1} rule file(s): 1 ok, {len(EXPECTED)} with" in proc.stdout


def test_list_and_crawl_the_good_rule_beside_them(rules: Path, sample_site: str, tmp_path: Path):
    listed = scrapy("list", "-s", f"RULES_DIR={rules}")
    assert listed.stdout.split() == ["good"], listed.stdout
    assert "Traceback" not in listed.stderr
    run = crawl("good", tmp_path, "-s", f"RULES_DIR={rules}", site=sample_site)
    assert run.returncode == 0, run.log[-3000:]
    assert [item["title"] for item in run.items] == ["Songs & Lines · 旧城往事"]
    for path in ("/tmp/pwned.py", "/tmp/pwned.log", "/tmp/pwned.db", "/tmp/pwned-job"):
        assert not Path(path).exists()


@pytest.mark.parametrize("name", ["feeds_write", "file_start", "extensions_import", "alias_bomb"])
def test_crawl_refuses_a_malicious_rule_without_a_traceback(rules: Path, name: str):
    proc = scrapy("crawl", name, "-s", f"RULES_DIR={rules}", "-s", "STORE_URI=", timeout=120)
    assert proc.returncode != 0
    assert f"rule {name!r} has problems" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_alias_bomb_is_refused_fast_and_small():
    text = (CORPUS / "alias_bomb.yaml").read_text()
    # The time without tracemalloc, which doubles it; then the memory, traced.
    started = time.process_time()  # CPU time: other processes on a shared machine do not count
    with pytest.raises(YamlError):
        load_yaml(text, "alias_bomb.yaml")
    used = time.process_time() - started
    tracemalloc.start()
    with pytest.raises(YamlError):
        load_yaml(text, "alias_bomb.yaml")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * 1024 * 1024, peak
    assert used < 1.0, used  # a safety bound (refused, not expanded), not a speed target
    print(f"alias bomb refused in {used:.3f} s of CPU, {peak / 2**20:.1f} MiB traced at peak")


def test_a_file_too_big_to_be_a_rule_is_refused(rules: Path):
    (rules / "huge.yaml").write_text("# " + "x" * 1_100_000 + "\n" + GOOD)
    proc = scrapy("validate", "huge", "-s", f"RULES_DIR={rules}")
    assert proc.returncode == 1
    assert f"{rules}/huge.yaml:1:1: rule file is larger than 1,000,000 bytes" in proc.stdout
