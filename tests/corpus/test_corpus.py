"""The corpus is consistent: every site serves its start page and every expected detail page,
the detail pages are exactly those linked from the kept list pages, the expected values are in
their pages, the size bounds hold and SOURCES.md names every site."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

import lxml.html
import pytest

from tests.corpus.server import SITES, expected, serve_corpus, site_ids

CORPUS = Path(__file__).resolve().parent
MAX_PAGE = 300 * 1024
MAX_TOTAL = 4_500_000  # "about 4 MB": pages plus expected.json
ARTICLE_FIELDS = {"title", "published", "body"}
PRODUCT_FIELDS = {"title", "name", "price", "currency", "availability", "sku"}

SITE_IDS = site_ids()


@pytest.fixture(scope="module")
def corpus() -> Iterator[dict[str, str]]:
    with serve_corpus() as urls:
        yield urls


def fetch(url: str) -> tuple[int, str, str, bytes]:
    """(status, final URL, content type, body); redirects followed, 4xx/5xx returned."""
    try:
        with urllib.request.urlopen(quote(url, safe=":/?=&%#"), timeout=10) as response:
            content_type = response.headers["Content-Type"]
            return response.status, response.geturl(), content_type, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, url, exc.headers.get("Content-Type", ""), exc.read()


def page_text(body: bytes, encoding: str) -> str:
    text = lxml.html.fromstring(body.decode(encoding)).text_content()
    return " ".join(html.unescape(text).split())


def links(body: bytes, encoding: str, base_path: str) -> set[str]:
    """Same-site link targets of a page as decoded paths, without query or fragment."""
    doc = lxml.html.fromstring(body.decode(encoding))
    out = set()
    for href in doc.xpath("//a/@href"):
        url = urldefrag(urljoin("http://site" + base_path, href.strip()))[0]
        if url.startswith("http://site/"):
            out.add(unquote(urlsplit(url).path))
    return out


def test_the_corpus_has_sites_of_both_kinds():
    kinds = {expected(site)["kind"] for site in SITE_IDS}
    assert len(SITE_IDS) >= 6 and kinds == {"article", "product"}


@pytest.mark.parametrize("site", SITE_IDS)
def test_expected_json_has_the_promised_shape(site):
    data = expected(site)
    assert data["kind"] in ("article", "product")
    assert data["start"] == data["lists"][0] and len(data["lists"]) >= 2
    assert data["lang"]
    assert 8 <= len(data["details"]) <= 15
    for url, fields in data["details"].items():
        assert re.fullmatch(data["detail_pattern"], url), url
        required = ARTICLE_FIELDS if data["kind"] == "article" else PRODUCT_FIELDS
        assert required <= set(fields), (url, required - set(fields))
        assert all(fields[name] for name in required), url
        if data["kind"] == "article":
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", fields["published"]), url


@pytest.mark.parametrize("site", SITE_IDS)
def test_start_list_and_detail_pages_are_served(corpus, site):
    data = expected(site)
    encoding = data.get("encoding", "utf-8")
    for path in [*data["lists"], *data["details"]]:
        status, _, content_type, _ = fetch(corpus[site] + path)
        assert status == 200, path
        assert content_type == f"text/html; charset={encoding}", path


@pytest.mark.parametrize("site", SITE_IDS)
def test_detail_pages_are_exactly_those_linked_from_the_kept_list_pages(corpus, site):
    data = expected(site)
    encoding = data.get("encoding", "utf-8")
    lists, pattern = set(data["lists"]), re.compile(data["detail_pattern"])
    queue, seen_lists, linked = [data["start"]], set(), set()
    while queue:
        status, final, _, body = fetch(corpus[site] + queue.pop())
        path = unquote(urlsplit(final).path)
        assert status == 200 and path in lists, final
        seen_lists.add(path)
        for target in links(body, encoding, path):
            page = target if target.endswith("/") else target + "/"  # /dir answers 301 to /dir/
            if pattern.fullmatch(target):
                linked.add(target)
            elif page in lists and page not in seen_lists and target not in queue:
                queue.append(target)
    assert seen_lists == lists
    assert linked == set(data["details"])


@pytest.mark.parametrize("site", SITE_IDS)
def test_expected_values_appear_in_their_pages(corpus, site):
    data = expected(site)
    encoding = data.get("encoding", "utf-8")
    for path, fields in data["details"].items():
        text = page_text(fetch(corpus[site] + path)[3], encoding)
        assert " ".join(fields["title"].split()) in text, path
        if data["kind"] == "article":
            first_line = fields["body"].split("\n")[0][:60]
            assert first_line in text, path
            if "author" in fields:
                assert fields["author"].split(", ")[0] in text, path
        else:
            assert fields["name"] in text and fields["price"] in text, path


@pytest.mark.parametrize("site", SITE_IDS)
def test_anything_else_is_not_found(corpus, site):
    assert fetch(corpus[site] + "/no-such-page/")[0] == 404
    assert fetch(corpus[site] + "/expected.json")[0] == 404
    assert fetch(corpus[site] + "/../server.py")[0] in (400, 404)


def test_pages_and_corpus_stay_within_their_size_bounds():
    files = [p for p in SITES.rglob("*") if p.is_file()]
    big = [str(p.relative_to(SITES)) for p in files if p.stat().st_size > MAX_PAGE]
    assert big == []
    assert sum(p.stat().st_size for p in files) <= MAX_TOTAL


def test_sources_lists_every_site():
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    missing = [site for site in SITE_IDS if f"`{site}`" not in sources]
    assert missing == []
