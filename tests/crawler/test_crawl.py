"""Full crawls of the sample site in a subprocess, items checked one by one against its content."""

from __future__ import annotations

import pytest

from cleaners.registry import REGISTRY
from tests.crawler.crawl import crawl, stat
from tests.sample_site.data import NEWS, TAGS, catalogue

BOOKS = catalogue(60)
TAG_NAMES = dict(TAGS)


@pytest.fixture(scope="module")
def books_run(sample_site, tmp_path_factory):
    return crawl("sample_books", tmp_path_factory.mktemp("books"), site=sample_site)


def test_sample_books_every_item_matches_the_site(books_run, sample_site):
    assert books_run.returncode == 0, books_run.log[-3000:]
    valid = {item["_url"]: item for item in books_run.items if "_errors" not in item}
    assert len(valid) == len(BOOKS)
    for book in BOOKS:
        item = valid[f"{sample_site}/book/{book.id}.html"]
        assert item["title"] == " ".join(book.title.split())
        assert item["price"] == float(book.price)
        assert item["currency"] == "£"
        assert item["stock"] == book.stock
        assert item["upc"] == book.upc
        assert item["sku"] == book.upc  # regex over the whole page (JSON-LD)
        assert item["description"] == " ".join(book.description.split())
        assert item["published"] == book.published.isoformat()
        assert item["rating"] == book.rating  # only on the list page: carried to the detail
        assert item["tag"] == TAG_NAMES[book.tag]  # a page-level list field, carried too
        assert item["_rule"] == "sample_books" and item["_page"] == "book"
        assert item["_crawled_at"].endswith("+00:00")


def test_sample_books_malformed_page_is_counted_and_the_crawl_goes_on(books_run, sample_site):
    invalid = [item for item in books_run.items if "_errors" in item]
    assert [item["_url"] for item in invalid] == [f"{sample_site}/book/broken-1.html"]
    assert invalid[0]["_errors"] == [
        "title: required field is empty",
        "price: required field is empty",
    ]
    assert invalid[0]["stock"] == 3  # what could be read was read
    assert stat(books_run.log, "rule/items/invalid") == 1
    assert stat(books_run.log, "rule/request_errors/http_404") == 1
    assert "request failed (HTTP 404) for" in books_run.log
    assert (
        "invalid_item: title: required field is empty" in books_run.log
    )  # logged once, with the reason
    assert "Traceback" not in books_run.log


def test_api_offset_and_cursor_pagination_walk_every_book_once(sample_site, tmp_path):
    run = crawl("sample_api", tmp_path, site=sample_site)
    assert run.returncode == 0, run.log[-3000:]
    by_page = {"by_offset": [], "by_cursor": []}
    for item in run.items:
        by_page[item["_page"]].append(item)
    for page, items in by_page.items():
        assert sorted(i["id"] for i in items) == [b.id for b in BOOKS], page
        first = next(i for i in items if i["id"] == 1)
        assert first["url"] == f"{sample_site}/book/1.html"
        assert first["price"] == float(BOOKS[0].price)
    # offset paging stops at the first empty page: 3 full pages + 1 empty
    assert stat(run.log, "rule/pages/by_offset") == 4
    assert stat(run.log, "rule/pages/by_cursor") == 3


def test_post_form_and_json_starts_with_templated_header(sample_site, tmp_path):
    run = crawl("sample_search", tmp_path, "-a", "q=of", site=sample_site)
    assert run.returncode == 0, run.log[-3000:]
    form = [i for i in run.items if i["query_type"] == "form"]
    as_json = [i for i in run.items if i["query_type"] == "json"]
    expected = [b.id for b in BOOKS if "of" in b.title.lower()]
    assert sorted(i["id"] for i in form) == expected
    assert sorted(i["id"] for i in as_json) == [
        b.id for b in BOOKS if "of" in b.title.lower() and b.tag == "mystery"
    ]
    assert all(i["api_key_sent"] is True for i in form)
    assert all(i["query"] == "of" for i in run.items)


def test_gbk_pages_without_any_charset_extract_correct_chinese(sample_site, tmp_path):
    run = crawl("sample_news_gbk", tmp_path, site=sample_site)
    assert run.returncode == 0, run.log[-3000:]
    by_url = {i["_url"]: i for i in run.items}
    assert len(by_url) == len(NEWS)
    for news in NEWS:
        item = by_url[f"{sample_site}/gbk/{news.id}.html"]
        assert item["title"] == news.title
        assert item["published"] == news.published.isoformat()
        assert item["body"] == REGISTRY.compile(["collapse_whitespace", "to_halfwidth"])(news.body)


def test_page_count_pagination_reads_the_count_from_the_first_page(sample_site, tmp_path):
    run = crawl("sample_books_table", tmp_path, site=sample_site)
    assert run.returncode == 0, run.log[-3000:]
    assert sorted(i["url"] for i in run.items) == sorted(
        f"{sample_site}/book/{b.id}.html" for b in BOOKS
    )
    assert stat(run.log, "rule/pages/table") == 3


def test_a_bad_argument_is_a_clear_error_not_a_traceback(tmp_path):
    run = crawl("sample_books", tmp_path, "-a", "site=")
    assert "cannot request start URL '/': Missing scheme in request url: /" in run.log
    assert "Traceback" not in run.log


def test_a_required_argument_is_asked_for(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "needs_arg.yaml").write_text(
        "args: {site: null}\nstart: [{url: '{site}/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
    )
    run = crawl("needs_arg", tmp_path, "-s", f"RULES_DIR={rules}")
    assert "rule needs_arg needs argument(s) site: scrapy crawl needs_arg -a site=VALUE" in run.log
    assert "Traceback" not in run.log


def test_jobdir_pause_and_resume_finishes_the_crawl(sample_site, tmp_path):
    jobdir = str(tmp_path / "job")
    first = crawl(
        "sample_books",
        tmp_path,
        "-s",
        f"JOBDIR={jobdir}",
        "-s",
        "CLOSESPIDER_ITEMCOUNT=10",
        "-s",
        "CONCURRENT_REQUESTS=1",
        site=sample_site,
    )
    assert "closespider_itemcount" in first.log
    second = crawl("sample_books", tmp_path, "-s", f"JOBDIR={jobdir}", site=sample_site)
    assert second.returncode == 0, second.log[-2000:]
    urls = [i["_url"] for i in first.items + second.items if "_errors" not in i]
    assert len(first.items) >= 10 and len(second.items) > 0
    assert sorted(set(urls)) == sorted(f"{sample_site}/book/{b.id}.html" for b in BOOKS)
