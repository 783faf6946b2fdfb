"""``scrapy export`` and ``scrapy store``, run in-process through scrapy.cmdline (fast); the
subprocess runs are in test_store_end_to_end.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.cmdline import execute

from crawler.store import open_store
from crawler.store.spill import item_line
from tests.crawler.runs.cli import table_rows

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawler.settings")

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            execute(["scrapy", *args])
        out, err = capsys.readouterr()
        return int(exit_info.value.code or 0), out, err

    return run


@pytest.fixture
def uri(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'items.db'}"
    with open_store(uri) as store:
        store.upsert_many(
            "books", [{"url": f"u{i}", "n": i, "tags": ["x"]} for i in range(3)], ("url",)
        )
        store.upsert_many("books", [{"url": "u0", "n": -1, "tags": ["x"]}], ("url",), history=True)
        store.dead_letter("books", [{"n": 9}], ["missing key field 'url'"])
        store.dead_letter("orphans", [{"n": 9}], ["invalid"])
        store.record_run(
            {
                "run_id": "a",
                "rule": "books",
                "started_at": "2026-01-01T00:00:00Z",
                "pages": 4,
                "items": 3,
                "new": 3,
                "finish_reason": "finished",
            }
        )
        store.record_run({"run_id": "b", "rule": "other", "started_at": "2026-01-02T00:00:00Z"})
    return uri


def test_export_list(run, uri: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("export", "--list", "--store", uri)
    assert code == 0
    counts = dict(line.split() for line in out.splitlines())
    assert counts == {"books": "3", "books__dead": "1", "books__history": "1", "orphans__dead": "1"}


def test_export_jsonl_to_stdout_without_metadata(run, uri: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("export", "books", "-o", "-", "--no-meta", "-s", f"STORE_URI={uri}")
    assert code == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs == [
        {"url": "u0", "n": -1, "tags": ["x"]},
        {"url": "u1", "n": 1, "tags": ["x"]},
        {"url": "u2", "n": 2, "tags": ["x"]},
    ]


def test_export_user_errors_have_no_traceback(run, uri: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("export", "nope", "-o", str(tmp_path / "x.jsonl"), "--store", uri)
    assert code == 1 and "no collection 'nope'" in err and "books" in err
    code, _, err = run("export", "books", "-o", "x.xml", "--store", uri)
    assert code == 2 and "use .jsonl, .csv or .xlsx" in err
    code, _, err = run("export", "books", "--store", uri)
    assert code == 2 and "-o FILE.jsonl" in err
    code, _, err = run("export", "--list", "--store", "ftp://u:secret@h/x")
    assert code == 2 and "secret" not in err and "unsupported store URI" in err
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    code, _, err = run("export", "--list", "--store", f"sqlite:///{blocker}/a.db")
    assert code == 1 and "cannot open store" in err and "Traceback" not in err


def test_store_stats(run, uri: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("store", "stats", "--store", uri)
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert ["books", "3", "1", "1"] in rows
    assert ["orphans", "0", "1", "0"] in rows
    assert "total: 3 item(s), 2 dead letter(s), 1 history version(s)" in out


def test_store_runs(run, uri: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("store", "runs", "--store", uri)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["run", "started", "rule", "status"]
    assert lines[1].split()[2] == "other" and lines[2].split()[2] == "books"
    code, out, _ = run("store", "runs", "--rule", "books", "--json", "--store", uri)
    assert [json.loads(line)["run_id"] for line in out.splitlines()] == ["a"]
    code, out, _ = run("store", "runs", "--rule", "nobody", "--store", uri)
    assert "no runs recorded for rule 'nobody'" in out


def test_store_runs_errors_are_the_runs_own_figure(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    with open_store(uri) as store:
        # a 500 given up on: its "Gave up retrying" ERROR line is that failed request, not
        # a second error (crawler/runs/figures.py)
        stats = {"rule/request_errors/http_500": 1, "retry/max_reached": 1, "log_count/ERROR": 1}
        store.record_run({"run_id": "new1", "rule": "r", "started_at": "2", "stats": stats})
        # an older record: ERROR lines in errors, failed requests beside them
        store.record_run({"run_id": "old1", "rule": "r", "started_at": "1", "errors": 2,
                          "request_errors": 1})  # fmt: skip
    code, out, _ = run("store", "runs", "--store", uri)
    rows = table_rows(out)
    assert code == 0 and {r["run"]: r["errors"] for r in rows} == {"new1": "1", "old1": "3"}


def test_store_log_finds_a_run_or_says_in_one_line_why_not(run, uri: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "books-x.log"
    log.write_text("the kept log\n", encoding="utf-8")
    with open_store(uri) as store:
        store.record_run({"run_id": "c0ffee99", "rule": "logged", "started_at": "3",
                          "log_file": str(log)})  # fmt: skip
        # a record of the time the service's id was the schedule_run_id beside the crawl's own
        store.record_run({"run_id": "deadbeef", "rule": "logged", "started_at": "1",
                          "schedule_run_id": "svc-id-1", "log_file": str(log)})  # fmt: skip
    for ident in ("c0ffee99", "c0ff", "logged", "svc-id-1"):
        code, out, err = run("store", "log", ident, "--store", uri)
        assert (code, out, err) == (0, "the kept log\n", ""), ident
    code, out, err = run("store", "log", "UNKNOWN", "--store", uri)
    assert code == 2 and out == ""
    assert err == (
        "error: no run matches 'UNKNOWN': give a run id (`scrapy store runs` shows them), its "
        "first characters, or a rule name\n"
    )
    code, _, err = run("store", "log", "a", "--store", uri)  # run "a" kept no log
    assert (code, err) == (1, "error: run a kept no log (RUN_LOG_DIR was empty)\n")
    code, _, err = run("store", "log", "x" * 300, "--store", uri)
    assert code == 2 and err == "error: a run id is 1 to 200 characters\n"


def test_store_usage_errors_are_one_line(run, uri: str) -> None:  # type: ignore[no-untyped-def]
    for args, message in [
        (("store", "log"), "use: scrapy store log RUN [--follow]"),
        (("store", "runs", "--limit", "-3"), "--limit must be 1 to 10000"),
        (("store", "runs", "--limit", "100000"), "--limit must be 1 to 10000"),
        (("store", "stats", "extra"), "'store stats' takes no arguments"),
        (("store",), "give an action: replay, runs, log, stats, drop"),
    ]:
        code, out, err = run(*args, "--store", uri)
        assert (code, out, err) == (2, "", f"error: {message}\n"), args
    code, _, err = run("store", "runs", "-s", "STORE_URI=")
    assert (code, err) == (2, "error: no store: set STORE_URI or pass --store URI\n")


def test_store_replay_defaults_to_spill_dir_and_keeps_bad_files(
    run, uri: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    spill = tmp_path / "spill"
    s = ["--store", uri, "-s", f"STORE_SPILL_DIR={spill}"]
    code, out, _ = run("store", "replay", *s)
    assert code == 0 and "no spill files" in out
    spill.mkdir()
    good = spill / "a.jsonl"
    good.write_text(item_line("books", ["url"], False, {"url": "u9", "n": 9}))
    bad = spill / "b.jsonl"
    bad.write_text(item_line("books", ["url"], False, {"url": "u8"}) + '{"truncated": \n')
    code, out, err = run("store", "replay", *s)
    assert code == 1 and "unreadable line(s) 2" in err and "the file is kept" in err
    assert bad.exists() and not good.exists() and (spill / "a.jsonl.replayed").exists()
    with open_store(uri) as store:
        assert store.count("books") == 5  # the readable line of the bad file is written too
    code, _, err = run("store", "replay", str(tmp_path / "missing.jsonl"), *s)
    assert code == 2 and "no such spill file" in err
    code, _, err = run("store", "bogus", *s)
    assert code == 2 and "replay, runs, log, stats, drop" in err


def test_store_drop_needs_yes_and_records_the_deletion(run, uri: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "service"
    common = ("--store", uri, "-s", f"SERVICE_DATA_DIR={data}")
    code, _, err = run("store", "drop", "books", *common)
    assert code == 2 and "--yes" in err
    code, _, err = run("store", "drop", "_runs", "--yes", *common)
    assert code == 2 and "internal" in err
    code, out, err = run("store", "drop", "books", "--yes", *common)
    assert code == 0, err
    assert out.startswith("dropped 'books': 3 item(s), 1 history version(s), 1 dead letter(s)")
    with open_store(uri) as store:
        assert store.collections() == ["orphans__dead"]
        assert {r["run_id"] for r in store.runs()} == {"a", "b"}
    (record,) = [json.loads(line) for line in (data / "collection-drops.jsonl").open()]
    assert record["collection"] == "books" and record["by"]["via"] == "cli"


def test_export_xlsx(run, uri: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    out_file = tmp_path / "books.xlsx"
    code, _, err = run("export", "books", "-o", str(out_file), "--store", uri)
    assert code == 0, err
    rows = list(load_workbook(out_file, read_only=True).worksheets[0].iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("url", "n", "tags") and len(rows) == 4
    assert sorted(r[1] for r in rows[1:]) == [-1, 1, 2] and rows[1][2] == '["x"]'
