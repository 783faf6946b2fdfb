"""Item types end to end: a rule's items checked against their type, invalid ones kept aside as
dead letters with their reasons, and new/updated/unchanged counted across two crawls."""

from __future__ import annotations

import shutil

from crawler.store import open_store
from tests.crawler.crawl import ROOT, crawl
from tests.sample_site.data import catalogue

BOOKS = catalogue(60)


def test_type_violations_go_to_dead_letters_with_reasons_and_recrawls_count_unchanged(
    sample_site, tmp_path
):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    shutil.copy(ROOT / "rules" / "sample_books.yaml", rules)
    book_type = rules / "types" / "book.yaml"
    book_type.write_text(book_type.read_text().replace("maximum: 5", "maximum: 3"))

    first = crawl("sample_books", tmp_path, "-s", f"RULES_DIR={rules}", site=sample_site)
    assert first.returncode == 0, first.log[-3000:]
    second = crawl("sample_books", tmp_path, "-s", f"RULES_DIR={rules}", site=sample_site)
    assert second.returncode == 0, second.log[-3000:]

    too_high = {f"{sample_site}/book/{b.id}.html" for b in BOOKS if b.rating > 3}
    with open_store(first.store_uri) as store:
        stored = {doc["_url"]: doc for doc in store.find("sample_books")}
        dead = {doc["_url"]: doc for doc in store.find("sample_books__dead")}
        runs = store.runs(rule="sample_books")
    assert set(stored) == {f"{sample_site}/book/{b.id}.html" for b in BOOKS} - too_high
    assert set(dead) == too_high | {f"{sample_site}/book/broken-1.html"}
    for url in too_high:
        assert dead[url]["_errors"] == [
            f"rating: {stored.get(url, dead[url])['rating']} is greater than the maximum of 3"
        ]
    assert "invalid book item (kept aside as a dead letter): rating:" in first.log

    newest, oldest = runs[0], runs[1]
    assert (oldest["new"], oldest["unchanged"]) == (60 - len(too_high), 0)
    assert (newest["new"], newest["updated"], newest["unchanged"]) == (0, 0, 60 - len(too_high))
