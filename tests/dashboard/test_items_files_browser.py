"""A files field in the items browser, in a real Chromium against a real ``scrapy serve``: a kept
file is a link with its name and size that downloads it from ``/api/files/{sha256}`` under its
name; a refused one says why, with no link."""

from __future__ import annotations

import hashlib
from pathlib import Path

from playwright.sync_api import expect

from crawler.defaults.files import FILES_STORE
from crawler.files import DirectoryFileStore
from crawler.store.backends import open_store
from tests.sample_site import notices


def test_a_file_record_links_to_its_download(page, service, workspace, tmp_path: Path):
    data = notices.pdf(notices.GUIDE_TEXT)
    sha = hashlib.sha256(data).hexdigest()
    path = DirectoryFileStore(FILES_STORE).put(sha, "pdf", data)  # the service's file store
    kept = {
        "url": f"{workspace.site}/notices/files/guidelines.pdf",
        "name": "guidelines.pdf",
        "type": "pdf",
        "size": len(data),
        "sha256": sha,
        "path": path,
    }
    refused = {"url": "http://x.test/report.pdf", "name": "report.pdf", "error": "type_mismatch"}
    with open_store(workspace.store_uri) as store:
        store.upsert_many(
            "notices",
            [{"url": "n/1", "title": "Guidelines", "attachments": [kept, refused]}],
            ("url",),
        )
    page.goto(f"{service.url}/#/items/notices")
    link = page.locator("#items-table a.file-link")
    expect(link).to_have_text("guidelines.pdf")
    expect(page.locator("#items-table ul.files li").first).to_have_text(
        f"guidelines.pdf ({len(data)} B)"
    )
    expect(page.locator("#items-table ul.files li").nth(1)).to_have_text(
        "report.pdf: not kept (type_mismatch)"
    )
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "guidelines.pdf"
    target = tmp_path / "got.pdf"
    download.save_as(target)
    assert target.read_bytes() == data
