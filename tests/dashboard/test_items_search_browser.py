"""The items page's search box in a real Chromium against a real ``scrapy serve``: typing a
2-character Chinese word narrows the table after a pause, marks the word, and puts the search
in the address (so the view can be linked)."""

from __future__ import annotations

from playwright.sync_api import expect

from crawler.store.backends import open_store


def test_a_chinese_search_narrows_marks_and_links(page, service, workspace):
    with open_store(workspace.store_uri) as store:
        store.upsert_many(
            "goods",
            [
                {"url": "g/1", "title": "红色连衣裙"},
                {"url": "g/2", "title": "Blue shoe"},
                {"url": "g/3", "title": "夏季 红色 T恤"},
            ],
            ("url",),
        )
    page.goto(f"{service.url}/#/items/goods")
    expect(page.locator("#items-table tbody tr")).to_have_count(3)
    page.locator("#item-search").fill("红色")
    expect(page.locator("#item-count")).to_have_text("2 items match")
    expect(page.locator("#items-table mark")).to_have_text(["红色", "红色"])
    assert "q=%E7%BA%A2%E8%89%B2" in page.url
    expect(page.locator("#item-search")).to_be_focused()
    page.goto(f"{service.url}/#/items/goods?q=shoe")
    expect(page.locator("#items-table tbody tr")).to_have_count(1)
    expect(page.locator("#item-search")).to_have_value("shoe")
