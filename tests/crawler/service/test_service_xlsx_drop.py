"""Excel exports (types, formulas, characters Excel refuses, cut cells, the sheet's row limit,
filters) and deleting a collection (admin only, confirmed, recorded), on every store backend."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest
from openpyxl import load_workbook

from crawler.service import spreadsheet
from crawler.service.api_tokens import TokenFile
from crawler.service.drop_api import AUDIT_FILE
from tests.crawler.service.conftest import Service
from tests.crawler.service.test_service_items import seed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet(service: Service, **params: str) -> list[tuple]:
    answer = service.client.get(
        "/api/collections/books/export", params={"format": "xlsx", **params}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert answer.headers["content-disposition"] == 'attachment; filename="books.xlsx"'
    book = load_workbook(io.BytesIO(answer.content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def test_excel_export_has_every_row_typed_and_safe_cells(service: Service) -> None:
    seed(service, 30)
    odd = {
        "url": "http://x/odd",
        "price": 7,
        "nested": {"a": [1, "=2"]},
        "formula": '=HYPERLINK("http://evil","click")',
        "control": "bell\x07and\x00nul",
        "long": "y" * 40_000,
        "huge": 2**60,
    }
    service.store.upsert_many("books", [odd], ("url",), history=True)
    rows = sheet(service)
    header, data = rows[0], rows[1:]
    assert len(data) == 31
    assert header[0] == "_key" and {"url", "price", "tag", "nested", "formula"} <= set(header)
    # a read-only sheet leaves out a row's empty cells at its end
    by_url = {row[header.index("url")]: dict(zip(header, row, strict=False)) for row in data}
    book = by_url["http://x/3"]
    # numbers stay numbers (3.0 reads back as 3: the file keeps "3")
    assert book["price"] == 3 and isinstance(book["price"], int | float) and book["tag"] == "a"
    assert book.get("nested") is None  # a field this document lacks: an empty cell
    cells = by_url["http://x/odd"]
    assert cells["price"] == 7 and isinstance(cells["price"], int)
    assert json.loads(cells["nested"]) == {"a": [1, "=2"]}
    assert cells["formula"] == "'" + odd["formula"]  # shown, never run
    assert cells["control"] == "bell\ufffdand\ufffdnul"
    assert len(cells["long"]) == 32_767 and cells["long"].endswith(spreadsheet.CUT_MARK)
    assert cells["huge"] == str(2**60)  # past 15 digits Excel would round it
    assert cells["_key"] == '["http://x/odd"]'


def test_excel_export_honours_filters(service: Service) -> None:
    seed(service, 30)
    rows = sheet(service, **{"f.tag": "a", "since": "2026-01-02T00:00:00Z"})
    tag, crawled = rows[0].index("tag"), rows[0].index("_crawled_at")
    expected = [i for i in range(30) if i % 2 and 1 + i % 5 >= 2]
    assert len(rows) - 1 == len(expected)
    assert all(r[tag] == "a" and r[crawled] >= "2026-01-02" for r in rows[1:])


def test_excel_export_stops_at_the_sheets_last_row_with_a_note(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spreadsheet, "EXCEL_ROWS", 6)  # the header and 5 rows
    seed(service, 5)
    assert len(sheet(service)) == 6  # fits exactly: no note
    seed(service, 9)
    rows = sheet(service)
    assert len(rows) == 6
    assert rows[-1][0].startswith("export stopped after 4 rows: an Excel sheet holds 6 rows")
    assert all(cell is None for cell in rows[-1][1:])  # the note is one cell


def admin_auth(service: Service) -> dict[str, str]:
    token, _ = TokenFile(service.tmp / "secrets" / "tokens.json").create("boss", role="admin")
    return {"Authorization": f"Bearer {token}"}


def test_dropping_needs_an_admin_a_confirmation_and_an_item_collection(service: Service) -> None:
    seed(service, 3)
    client = service.client
    viewer, _ = TokenFile(service.tmp / "secrets" / "tokens.json").create("v", role="viewer")
    url = "/api/collections/books?confirm=books"
    assert client.delete(url).status_code == 401
    for auth in ({"Authorization": f"Bearer {viewer}"}, service.auth):  # viewer, editor
        assert client.delete(url, headers=auth).status_code == 403
    admin = admin_auth(service)
    for wrong in ("/api/collections/books", "/api/collections/books?confirm=Books"):
        answer = client.delete(wrong, headers=admin)
        assert answer.status_code == 400 and "confirm" in answer.json()["detail"]
    for internal in ("_runs", "_near_duplicates", "books__dead"):
        answer = client.delete(f"/api/collections/{internal}?confirm={internal}", headers=admin)
        assert answer.status_code == 400, internal
    assert client.delete("/api/collections/nope?confirm=nope", headers=admin).status_code == 404
    assert service.store.count("books") == 3
    assert not (service.tmp / "service" / AUDIT_FILE).exists()


def test_dropping_takes_items_history_dead_letters_and_indexes_only(service: Service) -> None:
    seed(service, 10)
    seed(service, 10)  # unchanged: no history yet
    service.store.upsert_many(
        "books", [{"url": "http://x/1", "price": 9.0}], ("url",), history=True
    )
    service.store.dead_letter("books", [{"url": "bad"}], ["missing title"])
    service.store.upsert_many("other", [{"url": "o/1"}], ("url",))
    service.store.dead_letter("other", [{"url": "bad"}], ["missing title"])
    service.store.record_run({"run_id": "r1", "rule": "books", "started_at": "2026-01-01T00:00:00"})
    admin = admin_auth(service)
    client = service.client
    added = client.post(
        "/api/admin/indexes", json={"collection": "books", "fields": ["url"]}, headers=admin
    )
    assert added.status_code == 200, added.text
    if service.backend == "sqlite":  # (mongomock has no $text)
        searched = client.get("/api/collections/books/items?q=http")  # builds its text index
        assert searched.status_code == 200 and searched.json()["items"], searched.text
    answer = client.delete("/api/collections/books?confirm=books", headers=admin)
    assert answer.status_code == 200, answer.text
    if service.backend == "sqlite":  # the text index goes with the items
        with sqlite3.connect(service.tmp / "store.db") as conn:
            names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master")]
        assert not [n for n in names if "books" in n], names
    record = answer.json()["record"]
    assert answer.json()["dropped"] == "books"
    assert (record["items"], record["history"], record["dead"], record["indexes"]) == (10, 1, 1, 1)
    assert record["by"] == {
        "id": record["by"]["id"],
        "name": "boss",
        "role": "admin",
        "via": "token",
    }
    left = service.store.collections()
    assert not [n for n in left if n.startswith("books")]
    assert {"other", "other__dead"} <= set(left) and service.store.count("other") == 1
    assert [r["run_id"] for r in service.store.runs()] == ["r1"]
    names = [c["name"] for c in client.get("/api/collections").json()["items"]]
    assert "books" not in names and "other" in names
    assert client.get("/api/collections/books/items").status_code == 404
    assert client.get("/api/admin/indexes", headers=admin).json()["items"] == {}
    lines = (service.tmp / "service" / AUDIT_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [record]
    # a crawl may fill it again: a new collection, keyed anew
    service.store.upsert_many("books", [{"sku": "s1"}], ("sku",))
    assert service.store.count("books") == 1
