"""Files are what their content says (magic bytes, zip directories), never their extension;
zip bombs are refused from their directory alone; names are safe; the directory file store
keeps each content once, atomically, and makes no path from what a caller sends."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from crawler.files.names import disposition_name, name_from, sanitise_name
from crawler.files.policy import FileLimits, FilePolicy, Refused, examine, keep
from crawler.files.sniff import ZipLimits, sniff, zip_bomb
from crawler.files.store import DirectoryFileStore, open_file_store, relative_path
from crawler.files.text import TextLimits, extract_text
from tests.sample_site import notices

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
LIMITS = FileLimits(
    default_bytes=5_000_000,
    limit_bytes=50_000_000,
    per_item=10,
    unzip_bytes=200_000_000,
    unzip_ratio=100.0,
    unzip_members=1000,
    text=TextLimits(max_chars=1000, max_pages=5, max_rows=100),
)


def zipped(*names: str, size: int = 10) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, b"x" * size)
    return out.getvalue()


def test_types_come_from_content():
    files = notices.files()
    assert sniff(files["files/tender-2024-01.pdf"][0]) == "pdf"
    assert sniff(files["download/spec"][0]) == "docx"  # served as application/octet-stream
    assert sniff(files["files/budget-2024.xlsx"][0]) == "xlsx"
    assert sniff(files["files/report.pdf"][0]) == "html"  # served as application/pdf
    assert sniff(zipped("[Content_Types].xml", "ppt/presentation.xml")) == "pptx"
    assert sniff(zipped("word/document.xml")) == "zip"  # no [Content_Types].xml: no OOXML
    assert sniff(OLE2 + b"\0" * 100 + "WordDocument".encode("utf-16-le")) == "doc"
    assert sniff(OLE2 + b"\0" * 100 + "Workbook".encode("utf-16-le")) == "xls"
    assert sniff(OLE2 + b"\0" * 100) is None  # an OLE2 file of no known kind
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\0" * 8) == "png"
    assert sniff(b"\xff\xd8\xff\xe0" + b"\0" * 8) == "jpeg"
    assert sniff(b"GIF89a" + b"\0" * 8) == "gif"
    assert sniff(b"RIFF\x10\0\0\0WEBPVP8 ") == "webp"
    assert sniff(b"PK\x03\x04 broken zip") is None
    assert sniff(b"\x00\x01\x02\xff\xfe") is None


def test_a_name_claiming_another_type_is_refused():
    pdf = notices.pdf("x")
    policy = FilePolicy.of({"types": ["pdf", "docx"]}, LIMITS)
    assert examine(pdf, "report.pdf", policy, LIMITS) == "pdf"
    assert examine(pdf, "download", policy, LIMITS) == "pdf"  # no extension: no claim
    for name, reason in (
        ("report.docx", "type_mismatch"),
        ("report.pdf.exe", "unknown_type"),
    ):
        data = pdf if name.endswith("docx") else b"MZ\x90\x00binary"
        with pytest.raises(Refused) as refused:
            examine(data, name, policy, LIMITS)
        assert refused.value.reason == reason
    html = notices.files()["files/report.pdf"][0]
    with pytest.raises(Refused, match="named as pdf, but its content is html"):
        examine(html, "report.pdf", policy, LIMITS)
    xlsx = notices.files()["files/budget-2024.xlsx"][0]
    with pytest.raises(Refused) as refused:
        examine(xlsx, "budget.xlsx", policy, LIMITS)  # the field takes pdf and docx only
    assert refused.value.reason == "type_not_allowed"


def test_a_zip_bomb_is_refused_from_its_directory_before_any_extraction():
    bomb = notices.files()["files/figures.xlsx"][0]
    assert len(bomb) < 200_000
    limits = ZipLimits(max_bytes=200_000_000, max_ratio=100, ratio_floor=5_000_000, max_members=10)
    assert "1,0" in (zip_bomb(bomb, limits) or "")  # ~1,000 times its size
    # a small file inflating a lot (xml compresses well) is no bomb below the file's bound
    assert zip_bomb(zipped("a.xml", size=2_000_000), limits) is None
    assert "members" in zip_bomb(zipped(*[f"{i}.xml" for i in range(11)]), limits)
    assert "at most 1,000" in zip_bomb(zipped("a.xml", size=2000), replace(limits, max_bytes=1000))
    policy = FilePolicy.of({"types": ["xlsx"], "max_bytes": 5_000_000}, LIMITS)
    with pytest.raises(Refused) as refused:
        examine(bomb, "figures.xlsx", policy, LIMITS)
    assert refused.value.reason == "bomb"


def test_text_is_read_within_bounds():
    files = notices.files()
    limits = TextLimits(max_chars=1000, max_pages=5, max_rows=100)
    assert extract_text("pdf", files["files/tender-2024-01.pdf"][0], limits) == notices.PDF_TEXT
    assert notices.DOCX_TEXT in extract_text("docx", files["download/spec"][0], limits)
    assert notices.XLSX_TEXT in extract_text("xlsx", files["files/budget-2024.xlsx"][0], limits)
    short = TextLimits(max_chars=10, max_pages=5, max_rows=100)
    assert extract_text("pdf", files["files/tender-2024-01.pdf"][0], short) == "Road resur"
    assert extract_text("png", b"\x89PNG", limits) is None


def test_names_are_sanitised():
    assert sanitise_name("../../etc/passwd") == "passwd"
    assert sanitise_name("..\\..\\boot.ini") == "boot.ini"
    assert sanitise_name(".htaccess") == "htaccess"
    assert sanitise_name("a\x00b\r\nc<d>.pdf") == "a_b__c_d_.pdf"
    assert sanitise_name(" a   b .pdf ") == "a b .pdf"
    long = sanitise_name("x" * 500 + ".docx")
    assert len(long) == 120 and long.endswith(".docx")
    assert sanitise_name("\u202e\u200b ") == "file"  # format characters only
    assert (
        name_from(b"attachment; filename*=UTF-8''%E5%85%AC%E5%91%8A.pdf", "http://x/1")
        == "公告.pdf"
    )
    assert name_from('attachment; filename="../../x.pdf"', "http://x/1") == "x.pdf"
    assert name_from(None, "http://x/dir/") == "dir"
    assert disposition_name(b"inline") is None


def test_the_directory_store_keeps_each_content_once_atomically(tmp_path: Path):
    store = open_file_store(
        f"file://{tmp_path}", {"file": "crawler.files.store.DirectoryFileStore"}
    )
    assert isinstance(store, DirectoryFileStore)
    pdf = notices.pdf("once")
    policy = FilePolicy.of({"types": ["pdf"], "text": True}, LIMITS)
    first = keep(pdf, "a.pdf", policy, LIMITS, store)
    again = keep(pdf, "b.pdf", policy, LIMITS, store)  # another URL, the same content
    assert first.new and not again.new
    sha = first.record["sha256"]
    assert first.record["path"] == again.record["path"] == f"{sha[:2]}/{sha}.pdf"
    assert first.record["text"] == "once" and first.record["type"] == "pdf"
    assert store.read(first.record["path"]) == pdf and store.find(sha) == first.record["path"]
    assert [p.name for p in (tmp_path / sha[:2]).iterdir()] == [f"{sha}.pdf"]  # no temp left
    assert store.find("0" * 64) is None and store.find("../x") is None
    for bad in ("../../etc/passwd", f"{sha[:2]}/../{sha}.pdf", f"{sha[:2]}/{sha}.sh"):
        with pytest.raises(ValueError):
            store.open(bad)
    with pytest.raises(ValueError):
        relative_path("A" * 64, "pdf")
    with pytest.raises(ValueError, match="no file store for scheme 's3'"):
        open_file_store("s3://bucket/files", {"": "crawler.files.store.DirectoryFileStore"})
    plain = open_file_store(str(tmp_path / "plain"), {"": "crawler.files.store.DirectoryFileStore"})
    assert plain.put(sha, "pdf", pdf) == first.record["path"]
