"""Re-extraction without re-crawling, as a user does it: crawl the loopback sample site with
``archive:``, fix the rule, ``scrapy rules backfill --dry-run``, then the real backfill; the
dry run's diff is what the real run writes, history keeps the replaced versions, and the items
carry the new rule's version. A crawl without ``archive:`` keeps nothing; the command's
failures are one line."""

from __future__ import annotations

import json
import shutil
import sqlite3
from argparse import Namespace
from pathlib import Path

import pytest
from scrapy.exceptions import UsageError
from scrapy.utils.project import get_project_settings

from crawler.commands.backfill import backfill_command
from crawler.store import key_text, open_store
from tests.crawler.crawl import ROOT, crawl_sample_books, sample_rules_with, scrapy, stat

OLD_TITLE = 'h1::text", required: true, clean: [collapse_whitespace]}'
NEW_TITLE = (
    'h1::text", required: true, clean: [collapse_whitespace, {regex_sub: {pattern: "^", '
    'repl: "Book: "}}]}'
)
SKU = '      sku: {regex: \'"sku":\\s*"([0-9a-f]+)"\'}\n'


def backfill(tmp: Path, rules: Path, *args: str, store: str | None = None):
    proc = scrapy(
        "rules", "backfill", *args,
        "-s", f"RULES_DIR={rules}",
        "-s", f"STORE_URI={store or 'sqlite:///' + str(tmp / 'store.db')}",
        "-s", f"ARCHIVE_DIR={tmp / 'archive'}",
    )  # fmt: skip
    return proc


def store_state(uri: str) -> dict:
    with open_store(uri) as store:
        items = {key_text([doc["_url"]]): doc for doc in store.find("sample_books")}
        return {"items": items, "runs": len(store.runs(rule="sample_books", limit=100))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sample_site):
    """Two crawls (without, then with ``archive:``), the rule fixed, a dry run and a real
    backfill, and what the store held between them."""
    tmp = tmp_path_factory.mktemp("backfill")
    uri = f"sqlite:///{tmp / 'store.db'}"
    settings = (f"ARCHIVE_DIR={tmp / 'archive'}", f"STORE_JOURNAL_DIR={tmp / 'journal'}",
                f"RUN_LOG_DIR={tmp / 'logs'}")  # fmt: skip
    out = {"tmp": tmp, "uri": uri}
    plain = crawl_sample_books(tmp, ROOT / "rules", sample_site, *settings)
    assert plain.returncode == 0, plain.stderr[-2000:]
    out["plain"] = plain
    out["archive_after_plain"] = sorted(p.name for p in (tmp / "archive").glob("*"))
    out["no_archive"] = backfill(tmp, ROOT / "rules", "sample_books", "--dry-run")
    rules = sample_rules_with(tmp, "archive", "{max_size: 50MB, max_age: 30d}")
    archived = crawl_sample_books(tmp, rules, sample_site, *settings)
    assert archived.returncode == 0, archived.stderr[-2000:]
    out["archived"] = archived
    rule_file = rules / "sample_books.yaml"
    text = rule_file.read_text(encoding="utf-8")
    assert text.count(OLD_TITLE) == 1 and SKU in text
    rule_file.write_text(text.replace(OLD_TITLE, NEW_TITLE).replace(SKU, ""), encoding="utf-8")
    out["before"] = store_state(uri)
    dry = backfill(tmp, rules, "sample_books", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    out["dry"] = json.loads(dry.stdout)
    out["after_dry"] = store_state(uri)
    out["marked"] = mark_near_duplicate(tmp / "store.db", out["dry"])
    real = backfill(tmp, rules, "sample_books", "--json")
    assert real.returncode == 0, real.stderr
    out["real"] = json.loads(real.stdout)
    out["after"] = store_state(uri)
    out["rules"] = rules
    return out


def mark_near_duplicate(db: Path, dry: dict) -> tuple[str, dict]:
    """Mark one item the backfill updates as a near-duplicate, as the store writer does."""
    key = next(d["key"] for d in dry["diffs"] if d["status"] == "update")
    mark = {"collection": "sample_books", "key": "an-earlier-notice"}
    with sqlite3.connect(db) as conn:
        (table,) = conn.execute(
            "SELECT table_name FROM _collections WHERE name = 'sample_books' AND kind = 'items'"
        ).fetchone()
        changed = conn.execute(
            f"""UPDATE "{table}" SET doc = json_set(doc, '$._duplicate_of', json(?)) WHERE _key = ?""",
            (json.dumps(mark), key),
        ).rowcount
    assert changed == 1
    return key, mark


def command(runs: dict, rules: Path, *args: str, store: str = "", **options: object):
    """``scrapy rules backfill`` in this process (its start costs more than what it does)."""
    settings = get_project_settings().copy()
    settings.set("RULES_DIR", str(rules))
    settings.set("STORE_URI", store or runs["uri"])
    settings.set("ARCHIVE_DIR", str(runs["tmp"] / "archive"))
    given = {"since": None, "dry_run": False, "limit": None, "json": False, "arg": []}
    return backfill_command(settings, list(args), Namespace(**{**given, **options}))


def test_a_crawl_without_archive_keeps_nothing(runs):
    assert runs["archive_after_plain"] == []
    assert stat(runs["plain"].stderr, "archive/pages") == 0
    assert "PageArchiveMiddleware is off" in runs["plain"].stderr
    no_archive = runs["no_archive"]  # the command as a user runs it
    assert no_archive.returncode == 1 and no_archive.stdout == ""
    assert no_archive.stderr.splitlines() == [
        f"error: rule sample_books has no page archive ({runs['tmp'] / 'archive'}"
        "/sample_books.sqlite): add `archive:` to the rule and crawl it first"
    ]


def test_the_crawl_archives_every_parsed_page(runs):
    log = runs["archived"].stderr
    parsed = stat(log, "downloader/response_status_count/200")  # a 404 is not parsed
    assert parsed < stat(log, "response_received_count")
    assert stat(log, "archive/pages") == parsed  # the index, the tag lists and every book
    assert stat(log, "archive/bytes") > 0 and stat(log, "archive/dropped") == 0
    assert (runs["tmp"] / "archive" / "sample_books.sqlite").is_file()


def test_the_dry_run_says_what_changes_and_writes_nothing(runs):
    dry = runs["dry"]
    books = dry["pages_by_type"]["book"]
    assert dry["dry_run"] is True and dry["run_id"] is None and dry["written"] is None
    assert dry["pages"] == dry["archived"] == stat(runs["archived"].stderr, "archive/pages")
    assert dry["updated"] == books - dry["invalid"] > 50
    assert dry["added"] == dry["unchanged"] == 0
    assert set(dry["fields"]) == {"title", "sku"}
    example = dry["fields"]["title"]["examples"][0]
    assert example["new"] == "Book: " + example["old"]
    assert {d["status"] for d in dry["diffs"]} == {"update", "invalid"}
    for diff in dry["diffs"]:
        if diff["status"] == "update":
            assert set(diff["changes"]) == {"title", "sku"}
            assert "new" not in diff["changes"]["sku"]  # the field is gone
    assert runs["after_dry"] == runs["before"]


def test_the_real_run_writes_exactly_the_dry_runs_diff(runs):
    dry, real = runs["dry"], runs["real"]
    assert real["dry_run"] is False and real["run_id"]
    assert real["diffs"] == dry["diffs"]
    counts = ("items", "unchanged", "updated", "added", "invalid", "fields", "pages")
    assert {k: real[k] for k in counts} == {k: dry[k] for k in counts}
    assert real["written"] == {
        "new": dry["added"],
        "updated": dry["updated"],
        "unchanged": dry["unchanged"],
        "dead": dry["invalid"],
    }
    before, after = runs["before"]["items"], runs["after"]["items"]
    assert set(after) == set(before)
    changed = {d["key"]: d["changes"] for d in dry["diffs"] if d["status"] == "update"}
    for key, doc in after.items():
        old = before[key]
        if key not in changed:
            assert doc == old
            continue
        for name, change in changed[key].items():
            assert doc.get(name) == change.get("new") and (name in doc) == ("new" in change)
            assert old.get(name) == change.get("old")
        assert doc["_rule_version"] == real["rule_version"] != old["_rule_version"]
        assert doc["_backfill"] == real["run_id"]
        assert doc["_first_seen"] == old["_first_seen"]
    key, mark = runs["marked"]
    assert after[key]["_duplicate_of"] == mark  # a near-duplicate stays marked


def test_history_keeps_the_replaced_versions(runs):
    dry = runs["dry"]
    updated = [d for d in dry["diffs"] if d["status"] == "update"]
    with open_store(runs["uri"]) as store:
        for diff in updated[:5]:
            versions = store.item_history("sample_books", diff["key"], 10)
            assert versions[0]["title"] == diff["changes"]["title"]["old"]
            assert (
                versions[0]["_rule_version"]
                == runs["before"]["items"][diff["key"]]["_rule_version"]
            )


def test_the_backfill_is_a_run_of_its_own(runs):
    real = runs["real"]
    assert runs["after"]["runs"] == runs["before"]["runs"] + 1
    with open_store(runs["uri"]) as store:
        record = store.get_run(real["run_id"])
    assert record["kind"] == record["trigger"] == "backfill"
    assert record["status"] == "finished" and record["exit_code"] == 0
    assert (record["pages"], record["items"]) == (real["pages"], real["items"])
    assert (record["updated"], record["new"], record["dead"]) == (
        real["updated"],
        real["added"],
        real["invalid"],
    )
    assert record["backfill"]["rule_version"] == real["rule_version"]


def test_a_second_backfill_finds_nothing_to_change(runs, capsys):
    assert command(runs, runs["rules"], "sample_books", dry_run=True, since="1h", limit=500) == 0
    lines = capsys.readouterr().out.splitlines()
    pages = runs["dry"]["pages"]
    assert lines[0].startswith("backfill sample_books (dry run, rule version ")
    assert lines[0].endswith(
        f"read {pages} of {pages} archived page(s) fetched in the last 1h (at most 500)"
    )
    books = runs["dry"]["pages_by_type"]["book"]
    invalid = runs["dry"]["invalid"]
    assert lines[1] == (
        f"items: {books}; unchanged {books - invalid}, would update 0, would add 0, "
        f"invalid {invalid} (dead letters)"
    )
    assert lines[-1] == "nothing written (dry run)"


def test_failures_are_one_line(runs, tmp_path, capsys):
    rules = runs["rules"]
    with pytest.raises(UsageError) as unknown:
        command(runs, rules, "sample_bokos")
    assert str(unknown.value) == "no rule named 'sample_bokos' (did you mean 'sample_books'?)"
    with pytest.raises(UsageError, match="^--since: not a duration: '3x'"):
        command(runs, rules, "sample_books", since="3x")
    (tmp_path / "a_file").write_text("x")
    store = f"sqlite:///{tmp_path}/a_file/x.db"
    assert command(runs, rules, "sample_books", store=store) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot open the store {store}: ")
    broken = tmp_path / "rules"
    shutil.copytree(rules, broken)
    (broken / "sample_books.yaml").write_text("name: sample_books\nstart: 3\n")
    assert command(runs, broken, "sample_books") == 3
    assert capsys.readouterr().err.startswith("error: rule 'sample_books' has problems:\n  ")
