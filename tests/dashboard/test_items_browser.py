"""The items browser in a real Chromium against a real ``scrapy serve``: a filter narrows the
table, an item shows the diff between its versions (a price the site changed between two
crawls), and the dead letters show their reasons."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from crawler.store.backends import open_store
from tests.crawler.crawl import crawl
from tests.dashboard.screenshots import price_changes
from tests.sample_site import SampleSite


@pytest.fixture(scope="module")
def two_crawls(workspace, service):
    """Two crawls of a sample site whose every fifth book costs £1 more the second time."""
    state = {"bump": False}
    with SampleSite(books=20, middlewares=[price_changes(state)]) as site:
        results = []
        for bump in (False, True):
            state["bump"] = bump
            result = crawl(
                "sample_books", workspace.root, "-s", f"RULES_DIR={workspace.rules}", site=site.url
            )
            assert result.returncode == 0, result.log[-3000:]
            results.append(result)
    return results


def test_a_filter_and_the_diff_of_an_items_versions(page, service, two_crawls):
    first, second = ({item["_url"]: item for item in r.items} for r in two_crawls)
    url = next(u for u in second if u.endswith("/book/5.html"))
    before, after = first[url], second[url]
    assert after["price"] != before["price"]
    filters = f"f.title={quote(after['title'])}"
    page.goto(f"{service.url}/#/items/sample_books?{filters}")
    rows = page.locator("#items-table tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#item-count")).to_have_text("1 items match")
    rows.get_by_role("button").click()
    expect(page.locator("#item-json")).to_contain_text(f'"title": "{after["title"]}"')
    change = page.locator("#item-diff tr.changed")
    expect(change).to_have_count(1)
    expect(change.locator("th")).to_contain_text("price")
    expect(change.locator("td.before")).to_have_text(str(before["price"]))
    expect(change.locator("td.after")).to_have_text(str(after["price"]))


def test_the_dead_letters_with_their_reasons(page, service, workspace, two_crawls):
    with open_store(workspace.store_uri) as store:
        dead = store.dead_page("sample_books", 100, None).items
    assert dead, "the sample site's broken books should make dead letters"
    page.goto(f"{service.url}/#/items/sample_books?view=dead")
    rows = page.locator("#dead-table tbody tr")
    expect(rows).to_have_count(len(dead))
    reasons = sorted(rows.locator("td.reason").all_inner_texts())
    assert reasons == sorted(d["_reason"] for d in dead)
    assert all(re.search(r"\w", reason) for reason in reasons)
