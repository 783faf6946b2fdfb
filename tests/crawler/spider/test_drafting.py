"""What ``scrapy rules new`` decides from a list page (crawler/spider/drafting.py): the post
links over navigation, tag clouds and footers, date permalinks, every common kind of pagination."""

from __future__ import annotations

import re

from lxml import html as lxml_html

from crawler.spider.drafting import detail_kind, guess_list, shape_of, url_pattern

POSTS = [f"/2024/05/{day:02d}/a-post-about-day-{day}/" for day in range(1, 11)]

HEXO_LIKE = f"""<html><body>
<header id="header"><nav id="main-nav">
{"".join(f'<a class="main-nav-link" href="/section-{n}/">Section {n}</a>' for n in range(12))}
</nav></header>
<div id="main">
{"".join(f'<article class="post"><header><h2 class="article-title"><a href="{p}">A long post title about day {i}</a></h2></header><div class="article-entry"><p>Excerpt</p></div></article>' for i, p in enumerate(POSTS, 1))}
<nav id="page-nav"><span class="page-number current">1</span>
<a class="page-number" href="/page/2/">2</a><a class="page-number" href="/page/3/">3</a></nav>
</div>
<aside id="sidebar"><div class="widget tagcloud">
{"".join(f'<a href="/tags/t{n}/" style="font-size: 10px;">t{n}</a>' for n in range(15))}
</div></aside>
<footer id="footer"><a href="/about/">About</a><a href="/privacy/">Privacy</a><a href="/rss/">RSS</a></footer>
</body></html>"""


def root(text: str):
    return lxml_html.fromstring(text)


def test_date_permalinks_win_over_navigation_and_the_tag_cloud():
    guess = guess_list("http://blog.test/", root(HEXO_LIKE))
    assert guess.best is not None
    assert guess.best.selector == "header h2.article-title a"
    assert not guess.best.boilerplate  # an article's own header is content
    assert sorted(set(guess.best.paths)) == sorted(POSTS)
    assert guess.best.pattern == r"^https?://[^/]+/\d{4}/\d{1,2}/\d{1,2}/[^/]+/(\?.*)?$"
    pattern = re.compile(guess.best.pattern)
    assert all(pattern.search(f"http://blog.test{p}") for p in POSTS)
    assert not pattern.search("http://blog.test/tags/t1/")
    # the runner-up is named with why it lost
    assert guess.runner_up is not None and "score" not in guess.runner_up.why
    assert any(w in guess.runner_up.why for w in ("navigation", "taxonomy", "short texts"))


def test_numbered_pages_give_the_link_after_the_current_one_on_every_page():
    found, why = guess_list("http://blog.test/", root(HEXO_LIKE)).next, ""
    assert found is not None and found[0] == "xpath"
    assert root(HEXO_LIKE).xpath(found[1])[0].get("href") == "/page/2/"
    page_two = HEXO_LIKE.replace(
        '<span class="page-number current">1</span>\n<a class="page-number" href="/page/2/">2</a>',
        '<a class="page-number" href="/">1</a><span class="page-number current">2</span>',
    )
    assert root(page_two).xpath(found[1])[0].get("href") == "/page/3/"
    last = page_two.replace('<a class="page-number" href="/page/3/">3</a>', "")
    assert root(last).xpath(found[1]) == []
    del why


def test_next_links_in_several_languages_and_rel_next():
    for text in ("下一页", "Next »", "Older posts", "suivant", "›"):
        page = f'<html><body><a href="/p2" class="nxt">{text}</a></body></html>'
        found, _ = guess_list("http://x.test/", root(page)).next, None
        assert found == ("css", "a.nxt"), text
    page = '<html><head><link rel="next" href="/p2"></head><body></body></html>'
    assert guess_list("http://x.test/", root(page)).next == ("css", "link[rel~=next]")


def test_url_shapes_and_patterns():
    assert shape_of("/2024/05/29/slug/") == ("yyyy", "9", "9", "w", "/")
    assert shape_of("/book/12.html") == ("w", "9.html", "")
    assert url_pattern(["/news/a.shtml", "/news/b.shtml"]) == (
        r"^https?://[^/]+/news/[^/]+\.shtml(\?.*)?$"
    )


def test_details_are_products_when_the_samples_describe_products():
    product = '<script type="application/ld+json">{"@type": "Product", "name": "x"}</script>'
    assert detail_kind([product, product, "<p>text</p>"])[0] == "product"
    assert detail_kind(["<p>text</p>", product])[0] == "article"
    assert detail_kind([])[0] == "article"
