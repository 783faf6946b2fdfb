"""Point-and-click selectors in Debian's Chromium: the rule editor previews a book page of the
sample site, shows it without its scripts in a sandboxed frame, a click on the book's title
proposes selectors with the title they give on every sample page, one is inserted as a field of
the book page type, saved, and the saved rule passes ``scrapy validate``. All of it under the
service's Content-Security-Policy, with no request leaving the service (the page fixture)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.crawler.crawl import ROOT
from tests.dashboard.service import Service, Workspace
from tests.sample_site import SampleSite


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[Workspace]:
    with SampleSite(books=5) as site:
        workspace = Workspace(tmp_path_factory.mktemp("pick"), site.url)
        workspace.sample_rule("sample_books")
        yield workspace


@pytest.fixture(scope="module")
def service(workspace) -> Iterator[Service]:
    with Service(workspace) as svc:
        yield svc


def title(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return html.unescape(re.search(r"<h1>(.*?)</h1>", response.read().decode()).group(1))


def test_pick_the_title_insert_it_as_a_field_and_save(page, service, workspace):
    urls = [f"{workspace.site}/book/{i}.html" for i in (1, 2, 3)]
    titles = [title(url) for url in urls]
    page.goto(f"{service.url}/#/rules/sample_books")
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    expect(page.locator(".cm-editor")).to_be_visible()
    page.locator("#preview-url").fill(urls[0])
    page.locator(".preview form button[type=submit]").click()
    expect(page.locator("#preview-result")).to_contain_text(
        "Page type book, HTTP 200", timeout=30_000
    )

    page.locator("#pick-samples").fill("\n".join(urls[1:]))
    page.locator("#pick-toggle").click()
    expect(page.locator("#pick-toggle")).to_have_attribute("aria-pressed", "true")
    frame = page.frame_locator("#pick-frame")
    heading = frame.locator("h1")
    expect(heading).to_have_text(titles[0], timeout=30_000)
    # the page's own script (its ld+json) is not in the snapshot; the frame runs no script
    assert frame.locator("script").count() == 0
    assert page.locator("#pick-frame").get_attribute("sandbox") == "allow-same-origin"
    heading.click()
    expect(heading).to_have_css("outline-style", "solid")  # highlighted
    proposals = page.locator("#pick-proposals li.pick-proposal")
    # three previews in turn (the page and two samples): longer than expect's 5 s on a busy machine
    expect(proposals.first).to_be_visible(timeout=60_000)
    best = page.locator('#pick-proposals li[data-expression="div.product_main > h1"]')
    expect(best).to_have_count(1)
    values = best.locator("table.pick-values td").all_inner_texts()
    assert values == titles, values

    page.locator("#pick-page").select_option("book")
    page.locator("#pick-as").select_option("field")
    page.locator("#pick-name").fill("book_title")
    best.locator("button.pick-insert").click()
    expect(page.locator("#pick-inserted")).to_contain_text("Inserted div.product_main > h1")
    expect(page.locator(".cm-content")).to_contain_text("book_title:")
    page.locator("#save-message").fill("the title, picked")
    page.locator("#save").click()
    expect(page.locator("#editor-status")).to_contain_text("Saved as version", timeout=20_000)

    text = (workspace.rules / "sample_books.yaml").read_text(encoding="utf-8")
    line = (
        '      book_title: {css: "div.product_main > h1", text: true, '
        "clean: [collapse_whitespace]}\n"
    )
    assert line in text
    assert text.index(line) > text.index("  book:\n")  # a field of the book page type
    validate = subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", "validate", "sample_books"]
        + ["-s", f"RULES_DIR={workspace.rules}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    # and the rule, as saved, extracts the picked title from a book page
    preview = service.post(
        "/api/rules/preview", {"yaml": text, "url": urls[1], "args": {"site": workspace.site}}
    )
    assert preview["items"][0]["book_title"] == titles[1]
