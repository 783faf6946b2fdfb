"""Generic extraction (``extract: article`` / ``extract: product``): values found without
selectors (crawler/spider/extract/generic.py), fields written by the rule winning over them, and
a field with only cleaners cleaning the generic value."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from scrapy.http import HtmlResponse

from crawler.rules import RuleError
from crawler.spider.extract import CompiledRule
from crawler.spider.extract import generic as generic_module
from crawler.spider.project import parse_rule
from crawler.store import open_store
from tests.crawler.crawl import scrapy, store_args
from tests.sample_site import SampleSite

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
WORDS = (
    "The harbour committee met on Tuesday to review the plan for the new ferry terminal, "
    "which has been debated for years by residents, traders and the port authority alike. "
)

ARTICLE = f"""<!DOCTYPE html><html lang="en-GB"><head><title>Ferry plan | Harbour News</title>
<meta property="og:image" content="/img/ferry.jpg">
<meta name="author" content="Jane Roe">
</head><body>
<nav><a href="/">Home</a> <a href="/about/">About</a> <a href="/tags/">Tags</a></nav>
<article>
<h1>Ferry terminal plan approved</h1>
<time class="published" datetime="2024-05-29T09:00:00+00:00">29 May 2024</time>
<p>{WORDS * 3}</p><p>{WORDS * 2}</p>
<p>The full report: <a href="/files/report-2024.pdf">report (PDF)</a>.</p>
<div class="tags"><a rel="tag" href="/tags/harbour/">harbour</a></div>
</article>
<footer>Copyright Harbour News. <a href="/privacy/">Privacy</a></footer>
</body></html>"""

CHINESE = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>关于开展2024年安全检查的通知_通知公告</title></head><body>
<div class="nav"><a href="/">首页</a><a href="/tzgg/">通知公告</a></div>
<div class="article"><h1>关于开展2024年安全检查的通知</h1>
<div class="info">发布时间：2024年05月29日 来源：办公室</div>
<div class="content">{"<p>各有关单位：为进一步做好安全生产工作，切实保障人民群众生命财产安全，现就开展二〇二四年安全检查有关事项通知如下，请认真贯彻落实。</p>" * 4}
<p>附件：<a href="/u/cms/2024/检查表.docx">检查表</a></p></div></div>
<div class="footer">版权所有 某某市人民政府</div></body></html>"""


def page(body: str, url: str = "http://example.com/news/ferry.html") -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8")


def rule(pages: str) -> CompiledRule:
    text = f"name: t\nstart: [{{url: 'http://example.com/', page: p}}]\npages:\n{pages}"
    return CompiledRule(parse_rule(text, filename="t.yaml"))


def item_of(compiled: CompiledRule, response: HtmlResponse) -> dict:
    result = compiled.extract("p", response, now=NOW)
    assert not result.problems, result.problems
    (item,) = result.items
    return item


def test_an_article_is_found_without_a_selector():
    item = item_of(rule("  p: {extract: article}\n"), page(ARTICLE))
    assert item["title"] == "Ferry terminal plan approved"
    assert item["published"] == "2024-05-29"
    assert item["author"] == "Jane Roe"
    assert item["body"].startswith("The harbour committee met on Tuesday")
    assert "Privacy" not in item["body"] and "About" not in item["body"]  # no page furniture
    assert "<p>" in item["body_html"] and "<script" not in item["body_html"]
    assert item["image"] == "http://example.com/img/ferry.jpg"
    assert item["attachments"] == ["http://example.com/files/report-2024.pdf"]
    assert item["language"] == "en-GB"
    assert item["_page"] == "p" and item["_url"].endswith("/ferry.html")


def test_a_chinese_notice_gives_its_title_date_body_and_attachment():
    item = item_of(rule("  p: {extract: article}\n"), page(CHINESE, "http://gov.example.cn/a.html"))
    assert item["title"] == "关于开展2024年安全检查的通知"
    assert item["published"] == "2024-05-29"
    assert item["body"].startswith("各有关单位：为进一步做好安全生产工作")
    assert "版权所有" not in item["body"] and "首页" not in item["body"]
    assert item["attachments"] == ["http://gov.example.cn/u/cms/2024/检查表.docx"]
    assert item["language"] == "zh-CN"


def test_fields_the_rule_writes_win_and_a_field_with_only_cleaners_cleans_the_generic_value():
    pages = (
        "  p:\n    extract: article\n    fields:\n"
        "      title: {css: 'title::text', clean: [strip]}\n"  # written: wins
        "      published: {clean: [date]}\n"  # the generic value, cleaned
        "      tags: {default: [none]}\n"
        "      author: {required: true}\n"
    )
    item = item_of(rule(pages), page(ARTICLE))
    assert item["title"] == "Ferry plan | Harbour News"
    assert item["published"] == "2024-05-29T00:00:00"
    assert item["author"] == "Jane Roe" and "_errors" not in item
    assert item["body"].startswith("The harbour committee")  # untouched generic values stay


def test_a_field_with_no_source_must_be_a_generic_one_and_rows_do_not_mix_with_extract():
    with pytest.raises(RuleError) as caught:
        parse_rule(
            "name: t\nstart: [{url: 'http://example.com/', page: p}]\npages:\n"
            "  p:\n    extract: article\n    fields:\n      price: {clean: [strip]}\n"
            "  q:\n    extract: product\n    rows: {css: li}\n",
            filename="t.yaml",
        )
    messages = [f"{p.line}:{p.path}: {p.message}" for p in caught.value.problems]
    assert any(
        m.startswith("7:pages.p.fields.price: needs a selector, a value or an extractor")
        and "gives only title, published" in m
        for m in messages
    ), messages
    assert any(m.startswith("9:pages.q.extract: extract: product makes one item") for m in messages)
    with pytest.raises(RuleError):  # outside a page with extract:, a selector is needed
        parse_rule(
            "name: t\nstart: [{url: 'http://example.com/', page: p}]\npages:\n"
            "  p:\n    fields:\n      title: {clean: [strip]}\n",
            filename="t.yaml",
        )


def product_page(head: str, body: str = "<h1>Blue Mug</h1>") -> HtmlResponse:
    return page(f"<html><head>{head}</head><body>{body}</body></html>", "http://shop.test/p/1")


def test_a_product_from_json_ld_microdata_opengraph_or_the_page():
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "BreadcrumbList", "name": "crumbs"},
            {
                "@type": "Product",
                "name": "Blue Mug",
                "sku": "MUG-1",
                "brand": {"@type": "Brand", "name": "Acme"},
                "image": ["/img/mug.jpg", {"url": "/img/mug-2.jpg"}],
                "offers": {
                    "@type": "AggregateOffer",
                    "lowPrice": "9.99",
                    "offers": [
                        {
                            "price": "12.50",
                            "priceCurrency": "EUR",
                            "availability": "https://schema.org/InStock",
                        }
                    ],
                },
            },
        ],
    }
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    compiled = rule("  p: {extract: product}\n")
    item = item_of(compiled, product_page(head))
    assert {k: item[k] for k in ("name", "sku", "brand", "price", "currency", "availability")} == {
        "name": "Blue Mug",
        "sku": "MUG-1",
        "brand": "Acme",
        "price": 12.5,
        "currency": "EUR",
        "availability": "InStock",
    }
    assert item["images"] == ["http://shop.test/img/mug.jpg", "http://shop.test/img/mug-2.jpg"]

    microdata = (
        '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Teapot</h1>'
        '<span itemprop="sku">TP-9</span><div itemprop="offers" itemscope '
        'itemtype="https://schema.org/Offer"><meta itemprop="price" content="30">'
        '<meta itemprop="priceCurrency" content="USD">'
        '<link itemprop="availability" href="https://schema.org/OutOfStock"></div></div>'
    )
    item = item_of(compiled, product_page("", microdata))
    assert (item["name"], item["sku"], item["price"], item["currency"]) == (
        "Teapot",
        "TP-9",
        30.0,
        "USD",
    )
    assert item["availability"] == "OutOfStock"

    opengraph = (
        '<meta property="og:title" content="Green Vase"><meta property="og:image" '
        'content="/v.jpg"><meta property="product:price:amount" content="45.00">'
        '<meta property="product:price:currency" content="GBP">'
    )
    item = item_of(compiled, product_page(opengraph))
    assert (item["name"], item["price"], item["currency"]) == ("Green Vase", 45.0, "GBP")
    assert item["images"] == ["http://shop.test/v.jpg"]

    plain = '<h1>红茶礼盒</h1><p class="price">¥128.00</p><p class="stock">有货</p>'
    item = item_of(compiled, product_page("", plain))
    assert (item["name"], item["price"], item["currency"]) == ("红茶礼盒", 128.0, "CNY")
    assert item["availability"] == "InStock"


def test_a_page_too_large_or_a_failing_library_is_a_problem_of_that_page(monkeypatch):
    compiled = rule("  p: {extract: article}\n")
    monkeypatch.setattr(generic_module, "GENERIC_MAX_BYTES", 100)
    result = compiled.extract("p", page(ARTICLE), now=NOW)
    assert result.items == [] and result.problems[0][0] == "generic_too_large"
    monkeypatch.setattr(generic_module, "GENERIC_MAX_BYTES", 10**6)

    def broken(page, text):
        raise ValueError("the library choked")

    monkeypatch.setitem(generic_module.KINDS, "article", broken)
    result = compiled.extract("p", page(ARTICLE), now=NOW)
    assert result.problems == [
        ("generic_failed", "extract: article: ValueError: the library choked")
    ]


BLOG = """\
name: blog_generic
args: {site: null}
item: {key: [title]}
start:
  - url: "{site}/blog/"
    page: list
pages:
  list:
    links:
      - css: h2.entry-title a
        to: post
    pagination: {next: {css: a.next}}
  post:
    extract: article
"""


def test_a_crawl_of_the_sample_blog_stores_every_post_with_its_generic_fields(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "blog_generic.yaml").write_text(BLOG, encoding="utf-8")
    with SampleSite(big_pages=12) as site:
        settings = [
            *store_args(tmp_path),
            "-s",
            f"RULES_DIR={rules}",
            "-s",
            "INCREMENTAL_STATE_URI=",
        ]
        env = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}
        proc = scrapy("crawl", "blog_generic", "-a", f"site={site.url}", *settings, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        posts = list(store.find("blog_generic"))
    assert len(posts) == 12
    for post in posts:
        assert post["title"].startswith(post["title"].split(",")[0]) and post["published"]
        assert len(post["body"]) > 1000 and post["tags"]


def test_the_headline_wins_over_a_title_carrying_the_site_name_but_the_site_name_never_does():
    from lxml import html as lxml_html

    from crawler.spider.extract.generic import headline

    def root(body: str, head: str = ""):
        return lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")

    post = root("<h2>SQL Performance: Part 1 - Input File Formats</h2><h2>Related</h2>")
    assert headline(post, "The Crail Project: SQL Performance: Part 1") == (
        "SQL Performance: Part 1 - Input File Formats"
    )
    docs = root('<h1>Be the Keymaster!<a class="headerlink" href="#x">¶</a></h1>')
    assert headline(docs, "Textual - Be the Keymaster!") == "Be the Keymaster!"
    named = root("<h1>Harbour News</h1>", '<meta property="og:site_name" content="Harbour News">')
    assert headline(named, "Harbour News - Ferry plan approved") == (
        "Harbour News - Ferry plan approved"
    )
    assert headline(root("<p>no heading</p>"), None) is None


def test_code_laid_out_as_a_table_of_line_numbers_is_kept_as_code_without_the_numbers():
    code = (
        '<figure class="highlight bash"><table><tr><td class="gutter"><pre>'
        '<span class="line">1</span><br><span class="line">2</span><br></pre></td>'
        '<td class="code"><pre><span class="line">git config --global user.name me</span><br>'
        '<span class="line">git commit -m "first change"</span><br></pre></td></tr></table></figure>'
    )
    body = ARTICLE.replace("<p>The full report:", f"{code}<p>The full report:")
    item = item_of(rule("  p: {extract: article}\n"), page(body))
    # line by line, without the gutter (read as a table, it was "| 1 2 | git config ... |")
    assert 'git config --global user.name me\ngit commit -m "first change"' in item["body"]
    assert "| 1 2 |" not in item["body"] and "|" not in item["body"]


LIST = """\
name: blog_list
args: {site: null}
start:
  - url: "{site}/blog/"
    page: listing
pages:
  listing:
    extract: list
    to: post
  post:
    extract: article
"""


def test_extract_list_follows_the_repeated_links_and_the_next_page_without_selectors(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "blog_list.yaml").write_text(LIST, encoding="utf-8")
    with SampleSite(big_pages=25) as site:  # three list pages of posts
        settings = [
            *store_args(tmp_path),
            "-s",
            f"RULES_DIR={rules}",
            "-s",
            "INCREMENTAL_STATE_URI=",
        ]
        env = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}
        proc = scrapy("crawl", "blog_list", "-a", f"site={site.url}", *settings, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        posts = list(store.find("blog_list"))
        (run,) = store.runs(limit=1)
    assert len(posts) == 25 and all(p["_page"] == "post" and p["title"] for p in posts)
    assert run["stats"]["rule/pages/listing"] == 3  # the next pages found and followed


def test_extract_list_needs_to_and_to_needs_extract_list():
    start = "name: t\nstart: [{url: 'http://example.com/', page: p}]\npages:\n"
    for pages, message in (
        ("  p: {extract: list}\n", "extract: list needs `to:`"),
        ("  p: {extract: list, to: nope}\n", "no page type 'nope'"),
        ("  p: {extract: article, to: p}\n", "`to:` is for a page type with `extract: list`"),
    ):
        with pytest.raises(RuleError) as caught:
            parse_rule(start + pages, filename="t.yaml")
        assert any(message in p.message for p in caught.value.problems), pages
