"""What ``scrapy crawl`` (and the other long-running commands) say about a bad command line,
run as a user runs them: a broken rule named by its ``name:`` or its file stem lists its problems
(exit 3); every ``-s`` value is checked against the settings catalog, and the paths a run writes
for whether they can be created, before anything starts (exit 2, one line per problem); a busy
port for ``scrapy serve`` is a usage error."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from scrapy.exceptions import UsageError
from scrapy.settings import Settings

from crawler.core.exitcodes import EXIT_CODES
from crawler.defaults import command_line_problems
from crawler.spider.loader import RuleSpiderLoader
from crawler.spider.rule_spider import RuleRefused
from tests.crawler.crawl import scrapy, store_args

RULE = "start: [{url: 'http://127.0.0.1:1/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"


def broken_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "foo.yaml").write_text("name: bar\n" + RULE.replace("{t: {css: title}}", "3"))
    (rules / "unclosed.yaml").write_text("name: [unclosed\n")
    (rules / "binary.yml").write_bytes(b"\xff\xfe\x00 not text")
    (rules / "a_first.yaml").write_text("name: twice\n" + RULE)
    (rules / "z_second.yaml").write_text("name: twice\n" + RULE)
    (rules / "fine.yaml").write_text(RULE)
    return rules


def loader_for(rules: Path) -> RuleSpiderLoader:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("RULES_DIR", str(rules), priority="cmdline")
    return RuleSpiderLoader(settings)


def test_a_broken_rule_answers_to_its_name_and_its_file_stem(tmp_path, capsys):
    loader = loader_for(broken_rules(tmp_path))
    cases = {
        "bar": "foo.yaml:3:13: pages.p.fields: expected a mapping",  # the name it declares
        "foo": "foo.yaml:3:13: pages.p.fields: expected a mapping",  # its file stem
        "unclosed": "unclosed.yaml:2:1: invalid YAML",  # not YAML: its stem
        "binary": "binary.yml:1:1: rule file is not UTF-8 text",
        "twice": "z_second.yaml:1:1: name: rule name 'twice' is also used by",
        "z_second": "z_second.yaml:1:1: name: rule name 'twice'",
    }
    for name, problem in cases.items():
        with pytest.raises(RuleRefused) as refused:
            loader.load(name)
        message = str(refused.value)
        assert message.startswith(f"rule {name!r} has problems:\n"), message
        assert problem in message, (name, message)
    other = "  " + str(tmp_path / "rules" / "foo.yaml")
    with pytest.raises(RuleRefused) as refused:
        loader.load("twice")
    assert other not in str(refused.value)  # only the files claiming that name
    assert loader.load("fine").name == "fine"
    with pytest.raises(UsageError, match=r"'a_first' \(a_first.yaml declares the rule 'twice'\)"):
        loader.load("a_first")
    with pytest.raises(UsageError, match="no rule or spider named 'nope'"):
        loader.load("nope")
    capsys.readouterr()


def test_scrapy_crawl_of_a_broken_rule_by_its_declared_name_exits_3(tmp_path):
    rules = broken_rules(tmp_path)
    for name in ("bar", "twice"):
        proc = scrapy("crawl", name, "-s", f"RULES_DIR={rules}", *store_args(tmp_path))
        assert proc.returncode == EXIT_CODES["rule_error"], (name, proc.stderr[-2000:])
        assert f"error: rule {name!r} has problems:" in proc.stderr
        assert "no rule or spider named" not in proc.stderr and "Traceback" not in proc.stderr


def error_lines(stderr: str) -> list[str]:
    """The problems of a usage error: its first line (after ``PROG: error:``) and the rest."""
    match = re.search(r"^\S+: error: ", stderr, re.M)
    assert match, stderr[-2000:]
    return stderr[match.end() :].strip().splitlines()


def test_settings_values_are_checked_before_the_crawl_starts(tmp_path):
    proc = scrapy(
        "crawl", "sample_books",
        "-s", "LOG_LEVEL=LOUD",
        "-s", "RETRY_TIMES=many",
        "-s", "DOWNLOAD_DELEY=1",
        "-s", "COOKIES_ENABLED=maybe",
        "-s", "SESSION_LOGIN_FORM={not json",
        "-s", "DOWNLOAD_DELAY=-1",
        *store_args(tmp_path),
    )  # fmt: skip
    assert proc.returncode == EXIT_CODES["usage_error"], proc.stderr[-2000:]
    assert error_lines(proc.stderr) == [  # by name
        "-s COOKIES_ENABLED: expected true or false (or 1/0)",
        "-s DOWNLOAD_DELAY: must be at least 0; got -1.0",
        "-s DOWNLOAD_DELEY: unknown setting (did you mean 'DOWNLOAD_DELAY'?)",
        "-s LOG_LEVEL: must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG; got 'LOUD'",
        "-s RETRY_TIMES: expected an integer, got 'many'",
        '-s SESSION_LOGIN_FORM: expected a JSON object, e.g. {"NAME": "VALUE"}',
    ]
    assert "Traceback" not in proc.stderr and "Spider opened" not in proc.stderr
    assert not (tmp_path / "store.db").exists()  # nothing started


def test_paths_a_crawl_writes_are_checked_before_it_starts(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    proc = scrapy(
        "crawl", "sample_books",
        "-s", "JOBDIR=/proc/nope",
        "--logfile", str(a_file / "crawl.log"),
        "-o", f"{a_file}/out/items.jsonl",
        *store_args(tmp_path),
    )  # fmt: skip
    assert proc.returncode == EXIT_CODES["usage_error"], proc.stderr[-2000:]
    lines = error_lines(proc.stderr)
    assert len(lines) == 3, lines
    assert lines[0].startswith("-s JOBDIR=/proc/nope: cannot create or write the directory")
    assert (
        lines[1]
        == f"-s LOG_FILE={a_file}/crawl.log: cannot create or write the file (Not a directory)"
    )
    assert lines[2] == (
        f"output {a_file}/out/items.jsonl: cannot create or write the directory {a_file}/out "
        "(Not a directory)"
    )
    assert "Traceback" not in proc.stderr


def test_good_paths_and_values_start_the_crawl(sample_site, tmp_path):
    job, feed = tmp_path / "jobs" / "books-1", tmp_path / "new" / "dir" / "books.jsonl"
    proc = scrapy(
        "crawl", "sample_books", "-a", f"site={sample_site}",
        "-s", f"JOBDIR={job}",
        "-s", "CLOSESPIDER_PAGECOUNT=3",
        "-s", "CONCURRENT_REQUESTS=2000",  # a rule's maximum is not the command line's
        "-s", "COOKIES_ENABLED=false",
        "-s", "INCREMENTAL_STATE_URI=",
        "-L", "WARNING",
        "-O", str(feed),
        *store_args(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert job.is_dir() and feed.is_file()  # created by the crawl, after the check created
    assert (job / "requests.seen").is_file()  # their directories


@pytest.mark.parametrize(
    "command", [["serve"], ["schedule", "--list"], ["seed", "sample_books"], ["demo"]]
)
def test_the_long_running_commands_check_their_settings_the_same_way(command):
    proc = scrapy(*command, "-s", "LOG_LEVEL=LOUD", "-s", "SERVICE_PORT=http")
    assert proc.returncode == EXIT_CODES["usage_error"], proc.stderr[-2000:]
    assert error_lines(proc.stderr) == [
        "-s LOG_LEVEL: must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG; got 'LOUD'",
        "-s SERVICE_PORT: expected an integer, got 'http'",
    ]
    assert "Traceback" not in proc.stderr


def test_serve_on_a_busy_port_is_a_usage_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = scrapy("serve", "--port", str(port), timeout=90)
    assert proc.returncode == EXIT_CODES["usage_error"], proc.stderr[-2000:]
    assert error_lines(proc.stderr) == [
        f"port {port} on 127.0.0.1 is in use (another `scrapy serve`?): stop what listens "
        "there, or pick another port with --port N (or -s SERVICE_PORT=N)"
    ]
    assert "Traceback" not in proc.stderr


def test_command_line_values_are_read_as_the_settings_getters_read_them():
    assert (
        command_line_problems(
            {
                "COOKIES_ENABLED": "True",
                "ROBOTSTXT_OBEY": "0",
                "DOWNLOAD_DELAY": "0.25",
                "RETRY_TIMES": "3",
                "EXTENSIONS": '{"my.Extension": 10}',
                "PROXY_LIST": "http://a:1,http://b:2",
                "USER_AGENT_SEED": "",  # may be None: empty unsets it
                "CONCURRENT_REQUESTS": 5000,  # typed values too; no rule maximum here
                "FEEDS": {"out.jsonl": {"format": "jsonl"}},
                "MY_OWN": "x",
            },
            known={"MY_OWN"},
        )
        == []
    )
    assert command_line_problems({"RETRY_TIMES": "", "CONCURRENT_REQUESTS": "0"}) == [
        "RETRY_TIMES: expected an integer, got ''",
        "CONCURRENT_REQUESTS: must be at least 1; got 0",
    ]
    # a solver the project registers is a choice; an unregistered one is not
    assert command_line_problems({"CAPTCHA_SOLVER": "mine"}, registered={}) == [
        "CAPTCHA_SOLVER: must be one of , ocr, manual, service; got 'mine'"
    ]
    assert (
        command_line_problems(
            {"CAPTCHA_SOLVER": "mine"}, registered={"CAPTCHA_SOLVER": ["ocr", "manual", "mine"]}
        )
        == []
    )
