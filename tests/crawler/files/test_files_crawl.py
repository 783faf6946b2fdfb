"""A crawl of the sample site's notices (rules/sample_notices.yaml) keeps every attachment once
with its text, and refuses, counts and records the 200 MB file (cut off by the downloader), the
zip bomb, the HTML page served as a PDF and an ftp: link, and records the 404: nothing is lost
silently."""

from __future__ import annotations

import re

import pytest

from tests.crawler.crawl import crawl, stat
from tests.sample_site import notices


@pytest.fixture(scope="module")
def notices_run(sample_site, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notices")
    run = crawl(
        "sample_notices",
        tmp,
        "-s", f"FILES_STORE={tmp / 'files'}",
        "-s", "INCREMENTAL_STATE_URI=",
        "-s", "MEMUSAGE_CHECK_INTERVAL_SECONDS=0.05",
        site=sample_site,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    return run, tmp


def by_title(run) -> dict[str, list[dict]]:
    return {item["title"]: item["attachments"] for item in run.items}


def test_every_file_is_stored_once_with_its_text(notices_run, sample_site):
    run, tmp = notices_run
    files = by_title(run)
    assert len(files) == len(notices.NOTICES)
    tender, spec = files["Road resurfacing tender"]
    assert tender["url"] == f"{sample_site}/notices/files/tender-2024-01.pdf"
    assert (tender["type"], tender["name"], tender["text"]) == (
        "pdf",
        "tender-2024-01.pdf",
        notices.PDF_TEXT,
    )
    assert tender["sha256"] == notices.sha256_of("files/tender-2024-01.pdf")
    assert tender["size"] == len(notices.files()["files/tender-2024-01.pdf"][0])
    # named only by its Content-Disposition (filename*), typed by its content
    assert (spec["name"], spec["type"]) == ("规格说明.docx", "docx")
    assert notices.DOCX_TEXT in spec["text"]
    budget, guide = files["Budget 2024"]
    assert budget["type"] == "xlsx" and notices.XLSX_TEXT in budget["text"]
    # one file linked from two notices, and its copy at another URL: one stored file
    (again,) = files["Bidders' guidelines"]
    (copy,) = files["Guidelines, mirrored"]
    assert guide["path"] == again["path"] == copy["path"] and copy["url"] != guide["url"]
    assert guide["text"] == copy["text"] == notices.GUIDE_TEXT
    stored = sorted(p.relative_to(tmp / "files").as_posix() for p in (tmp / "files").rglob("*"))
    kept = {r["path"] for r in (tender, spec, budget, guide)}
    assert [p for p in stored if "." in p] == sorted(kept)  # and no temporary file left
    for record in (tender, spec, budget, guide):
        assert (tmp / "files" / record["path"]).read_bytes()[:4] in (b"%PDF", b"PK\x03\x04")
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}\.(pdf|docx|xlsx)", record["path"])
    assert stat(run.log, "files/downloaded") == 4
    assert stat(run.log, "files/reused") == 2  # the second link, and the copy's content
    assert "_files" not in run.items[0]


def test_big_bomb_and_mismatch_are_refused_counted_and_recorded(notices_run):
    run, _ = notices_run
    files = by_title(run)
    (big,) = files["Archive of 2023"]
    bomb, mismatch = files["Figures and report"]
    refused = {r["name"]: r["error"] for r in (big, bomb, mismatch)}
    assert refused == {k: v for k, v in notices.REFUSED.items() if k != "old.pdf"}
    assert "cut off by the downloader" in big["detail"]
    assert "decompression bomb" in bomb["detail"] and "sha256" not in bomb
    assert mismatch["detail"] == "named as pdf, but its content is html"
    for reason in ("too_large", "bomb", "type_mismatch"):
        assert stat(run.log, f"files/refused/{reason}") == 1
        assert len(re.findall(rf"file refused \({reason}", run.log)) == 1  # logged once
    assert stat(run.log, "files/refused") == 3 + 1  # and the ftp: link
    (missing, ftp, elsewhere) = files["Withdrawn notice"]
    assert {r["name"]: r["error"] for r in (missing, ftp, elsewhere)} == {
        **notices.FAILED,
        "old.pdf": notices.REFUSED["old.pdf"],
    }
    assert stat(run.log, "files/failed/http_404") == stat(run.log, "files/failed/offsite") == 1
    assert stat(run.log, "files/failed") == 2
    assert stat(run.log, "files/refused/scheme") == 1
    # the 200 MB body was cut off after about 5 MB, never read whole: the crawl's memory
    # (sampled every 50 ms) stayed well under it
    assert "larger than download max size (5000000)" in run.log
    grown = stat(run.log, "memusage/max") - stat(run.log, "memusage/startup")
    assert stat(run.log, "memusage/max") and grown < 64 * 1024 * 1024, grown
    # a notice whose every file was refused has an empty attachments field in the coverage
    assert stat(run.log, "coverage/notice/filled/attachments") == 4
