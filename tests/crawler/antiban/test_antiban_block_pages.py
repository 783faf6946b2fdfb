"""The ban policy on a corpus of pages written after real ones (tests/crawler/antiban/corpus/):
content that discusses captchas, "access denied", "verify you are human" and logins, or shows
captcha images, sliders and vendor scripts, is never a ban; the walls of the common vendors,
challenge forms, sliders, "安全验证" pages and short denials always are, each with its evidence.
Through the policy alone (any spider), and through the ban middleware asking a rule spider what
its page types expect."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.http import HtmlResponse, Request
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.antiban import ExpectsContent
from crawler.antiban.ban_middleware import BanMiddleware
from crawler.antiban.ban_policy import BanPolicy
from crawler.spider import META_PAGE, RuleSpider, parse_rule
from tests.settings import project_settings

CORPUS = Path(__file__).with_name("corpus")
CONTENT = sorted((CORPUS / "content").glob("*.html"))
BLOCKS = sorted((CORPUS / "blocks").glob("*.html"))
# Content pages shorter than any article: the policy alone takes them for walls; a rule whose
# page type finds its fields in them knows better.
SHORT = sorted((CORPUS / "short").glob("*.html"))
SITE = "https://corpus.test"

# Every wall of the corpus: its verdict's reason and the rule of the policy its evidence names.
WALLS = {
    "akamai-access-denied.html": ("marker", "akamai"),
    "akamai-bot-manager-interstitial.html": ("marker", "akamai"),
    "aliyun-slider-zh.html": ("marker", "aliyun"),
    "baidu-style-security-check-zh.html": ("marker", "marker"),
    "cloudflare-blocked.html": ("marker", "cloudflare"),
    "cloudflare-managed-challenge.html": ("marker", "cloudflare"),
    "cloudflare-turnstile-interstitial.html": ("marker", "cloudflare"),
    "datadome-captcha.html": ("marker", "datadome"),
    "distil-pardon-our-interruption.html": ("marker", "imperva"),
    "geetest-security-check-zh.html": ("marker", "geetest"),
    "google-unusual-traffic.html": ("marker", "marker"),
    "image-captcha-form-en.html": ("captcha", "captcha"),
    "image-captcha-form-zh.html": ("captcha", "captcha"),
    "imperva-incapsula.html": ("marker", "imperva"),
    "jd-style-restricted-zh.html": ("marker", "marker"),
    "perimeterx-press-and-hold.html": ("marker", "perimeterx"),
    "short-access-denied-en.html": ("marker", "marker"),
    "slider-widget-en.html": ("marker", "slider"),
    "tencent-captcha-zh.html": ("marker", "tencent"),
}

# One page type per kind of site in the corpus, its required fields as a site's rule would
# write them (the file name's prefix is the kind: blog-, forum-, docs-, news-, qa-, with zh-).
CORPUS_RULE = """
name: corpus
args: {site: "https://corpus.test"}
start:
  - {url: "{site}/", page: blog}
pages:
  blog:
    match: /(zh-)?blog-
    fields:
      title: {css: "article h1, .post h1", text: true, required: true}
      body: {css: "article p, .post-body p", text: true, all: true, required: true}
  forum:
    match: /(zh-)?forum-
    fields:
      topic: {css: "h1, h2.topic-title", text: true, required: true}
      posts: {css: ".post .content, .post-body, [itemprop=text], td.t_f", text: true, all: true, required: true}
  docs:
    match: /(zh-)?docs-
    fields:
      title: {css: "main h1, article h1", text: true, required: true}
      sections: {css: "main h2, article h2", text: true, all: true, required: true}
  news:
    match: /(zh-)?news-
    fields:
      headline: {css: "h1", text: true, required: true}
      body: {css: ".article-body p, #artibody p, .post_body p", text: true, all: true, required: true}
  qa:
    match: /(zh-)?qa-
    fields:
      question: {css: "h1", text: true, required: true}
      body: {css: ".s-prose, .question-body, .RichText", text: true, required: true}
"""
PAGE_TYPES = ("blog", "forum", "docs", "news", "qa")


def page(path: Path, url: str | None = None, **meta: object) -> HtmlResponse:
    """The file as the response to a request for ``url`` (its own name under SITE)."""
    request = Request(url or f"{SITE}/{path.name}", meta=dict(meta))
    return HtmlResponse(request.url, body=path.read_bytes(), encoding="utf-8", request=request)


def project_policy(**settings: object) -> BanPolicy:
    crawler = get_crawler(settings_dict=project_settings(settings))
    return build_from_crawler(BanPolicy, crawler)


def crawler_for(spider: str) -> tuple[object, BanMiddleware]:
    """A crawler with the project's settings, its spider a rule spider of CORPUS_RULE or a plain
    Scrapy spider, and its ban middleware."""
    if spider == "rule":
        spidercls = RuleSpider.for_rule(parse_rule(CORPUS_RULE, filename="corpus.yaml"))
        crawler = get_crawler(spidercls, project_settings())
        crawler.spider = spidercls.from_crawler(crawler)
    else:
        crawler = get_crawler(settings_dict=project_settings())
        crawler.spider = Spider.from_crawler(crawler, name="plain")
    return crawler, BanMiddleware.from_crawler(crawler)


def passes(mw: BanMiddleware, response: HtmlResponse) -> bool:
    """Whether the middleware hands ``response`` on (content), rather than a retry (a ban)."""
    outcome = mw.process_response(response.request, response)  # one try: budget left
    if outcome is response:
        return True
    asked = (response.request.meta.get("redirect_urls") or [response.request.url])[0]
    assert isinstance(outcome, Request) and outcome.url == asked  # retried, as first asked
    return False


def test_the_corpus_holds_enough_of_each_and_every_wall_is_expected():
    assert len(CONTENT) >= 30 and len(BLOCKS) >= 15 and len(SHORT) >= 2
    assert sorted(WALLS) == [p.name for p in BLOCKS]
    names = [p.name for p in CONTENT]
    assert sum(n.startswith("zh-") for n in names) >= 10  # Chinese pages, not only English
    assert {n.removeprefix("zh-").split("-")[0] for n in names} == set(PAGE_TYPES)


def test_the_policy_alone_bans_every_wall_and_no_content_page():
    policy = project_policy()
    verdicts = {p.name: policy.response_verdict(page(p).request, page(p)) for p in CONTENT}
    content_bans = {name: v.evidence for name, v in verdicts.items() if v is not None}
    assert content_bans == {}
    walls = {}
    for path in BLOCKS:
        response = page(path)
        verdict = policy.response_verdict(response.request, response)
        walls[path.name] = verdict and (verdict.reason, verdict.signal)
    assert walls == WALLS
    assert len(content_bans) == 0 and sum(v is not None for v in walls.values()) == len(BLOCKS)
    # Short content pages are shaped like walls: without a rule's expectations they are bans.
    assert all(policy.response_verdict(page(p).request, page(p)) is not None for p in SHORT)


def test_a_rule_spider_answers_the_middlewares_question_from_its_page_types():
    crawler, _ = crawler_for("rule")
    spider = crawler.spider
    assert isinstance(spider, ExpectsContent)
    assert [p.name for p in CONTENT + SHORT if spider.expects_content(page(p)) is not True] == []
    # A wall answering a request for a page of any type has none of that type's fields.
    for page_type in PAGE_TYPES:
        for path in BLOCKS:
            wall = page(path, f"{SITE}/{page_type}-wanted.html", **{META_PAGE: page_type})
            assert spider.expects_content(wall) is False, (page_type, path.name)
    # No page type for the URL: the spider cannot tell.
    assert spider.expects_content(page(BLOCKS[0], f"{SITE}/elsewhere.html")) is None


@pytest.mark.parametrize("spider", ["rule", "plain"])
def test_through_the_middleware_walls_are_bans_and_content_passes(spider):
    crawler, mw = crawler_for(spider)
    stats = crawler.stats
    assert [p.name for p in CONTENT if not passes(mw, page(p))] == []
    assert stats.get_value("antiban/bans") is None
    for page_type in PAGE_TYPES:
        for path in BLOCKS:
            wall = page(path, f"{SITE}/{page_type}-wanted.html", **{META_PAGE: page_type})
            assert not passes(mw, wall), (page_type, path.name)
    banned = len(BLOCKS) * len(PAGE_TYPES)
    assert stats.get_value("antiban/bans") == banned
    assert stats.get_value("antiban/bans/captcha") == 2 * len(PAGE_TYPES)
    assert stats.get_value("antiban/bans/marker") == (len(BLOCKS) - 2) * len(PAGE_TYPES)
    assert stats.get_value("antiban/signals/cloudflare") == 3 * len(PAGE_TYPES)
    short_passed = [passes(mw, page(p)) for p in SHORT]
    if spider == "rule":  # the page type finds its required fields: content, no back-off
        assert short_passed == [True] * len(SHORT)
        assert stats.get_value("antiban/overruled") == len(SHORT)
        assert stats.get_value("antiban/overruled/marker") == len(SHORT)
        assert stats.get_value("antiban/bans") == banned
    else:
        assert short_passed == [False] * len(SHORT)
        assert stats.get_value("antiban/overruled") is None
        assert stats.get_value("antiban/bans") == banned + len(SHORT)


def test_every_verdict_is_logged_once_per_reason_with_its_evidence(caplog):
    crawler, mw = crawler_for("rule")
    wall = CORPUS / "blocks" / "cloudflare-managed-challenge.html"
    form = CORPUS / "blocks" / "image-captcha-form-zh.html"
    note = CORPUS / "short" / "blog-short-note-verify-human.html"
    with caplog.at_level(logging.DEBUG, logger="crawler.antiban.ban_middleware"):
        for path in (wall, wall, form, note, note):
            passes(mw, page(path, f"{SITE}/blog-1.html" if path is not note else None))
    records = [r for r in caplog.records if r.funcName == "_log"]  # not Scrapy's retry lines
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert info == [
        f"ban (marker, cloudflare) on {SITE}/blog-1.html via direct: cloudflare matched "
        "'<title>Just a moment...' at 40 in a <title> tag; a block-shaped page: 224 bytes of "
        "text, 1 link",
        f"ban (captcha, captcha) on {SITE}/blog-1.html via direct: captcha "
        r"/<img\b[^>]*(captcha|验证码|seccode|checkcode|verify_?code)/ matched "
        """'<img id="vcode" src="/antispam/verifycode?t=1718093555" alt="验证码" title="看不清？点击换' """
        "at 790 (a challenge form POST '/antispam/verify': captcha image "
        "'/antispam/verifycode?t=1718093555' beside text input 'code'); a block-shaped page: "
        "168 bytes of text, 0 links",
        f"not a ban: marker (marker) on {SITE}/{note.name}, but the page yields its page type's "
        "required fields: marker /verify (that )?you are (a )?human/ matched 'verify you are "
        "human' at 78 in <title>; a block-shaped page: 220 bytes of text, 1 link",
    ]
    repeats = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert [m.split(" on ")[0] for m in repeats] == [
        "ban (marker, cloudflare)",
        "not a ban: marker (marker)",
    ]
    assert crawler.stats.get_value("antiban/signals/cloudflare") == 2
    assert crawler.stats.get_value("antiban/signals/captcha") == 1


def test_status_bans_stand_whatever_the_page_holds():
    crawler, mw = crawler_for("rule")
    article = CONTENT[0]
    request = Request(f"{SITE}/{article.name}")
    response = HtmlResponse(
        request.url, status=429, body=article.read_bytes(), headers={"Retry-After": "1"},
        request=request,
    )  # fmt: skip
    assert crawler.spider.expects_content(response) is True
    assert not passes(mw, response)
    assert crawler.stats.get_value("antiban/bans/status_429") == 1
    assert crawler.stats.get_value("antiban/overruled") is None


def test_a_redirect_to_a_url_that_looks_like_a_login_is_judged_by_the_page_it_lands_on():
    crawler, mw = crawler_for("rule")
    article = CORPUS / "content" / "blog-history-of-captchas.html"
    # /?p=1184 redirected to a slug with "captcha" in it (a BAN_LOGIN_URL_PATTERNS pattern)
    landed = page(
        article, f"{SITE}/blog-2024/captcha-history.html", redirect_urls=[f"{SITE}/?p=1184"]
    )
    assert passes(mw, landed)
    assert crawler.stats.get_value("antiban/overruled/login_url") == 1
    # A real login page has none of the article's fields: the redirect is a ban.
    login = HtmlResponse(
        f"{SITE}/login?next=/blog-9.html",
        body=b"<form><input name=user><input type=password name=pw></form>",
        request=Request(f"{SITE}/login?next=/blog-9.html", meta={"redirect_urls": [f"{SITE}/blog-9.html"]}),
    )  # fmt: skip
    assert not passes(mw, login)
    assert crawler.stats.get_value("antiban/bans/login_redirect") == 1
    assert crawler.stats.get_value("antiban/signals/login_url") == 1


def test_the_literal_prefilter_never_hides_a_match():
    policy = project_policy(BAN_EXTRA_MARKERS=[r"(?-i:AccessDenied)", r"ref(erence)?\s*#\d+"])
    checked = 0
    for path in CONTENT + BLOCKS + SHORT:
        text = path.read_text(encoding="utf-8")
        lowered = text.lower()
        for signal, pattern, literals in policy.pages.rules:
            if pattern.search(text):
                checked += 1
                assert literals is None or any(n in lowered for n in literals), (
                    path.name,
                    signal,
                    pattern.pattern,
                )
    assert checked > len(BLOCKS)  # the patterns did match, so the check means something


def test_the_tables_and_bounds_are_settings():
    cloudflare = page(CORPUS / "blocks" / "cloudflare-blocked.html")  # 729 bytes of text
    request = cloudflare.request
    assert project_policy().response_verdict(request, cloudflare).signal == "cloudflare"
    # A vendor switched off: the page's phrases still tell ("you have been blocked").
    off = project_policy(BAN_CHALLENGE_MARKERS={"cloudflare": ""})
    assert off.response_verdict(request, cloudflare).signal == "marker"
    assert project_policy(BAN_BLOCK_TEXT_MAX=500).response_verdict(request, cloudflare) is None
    assert project_policy(BAN_BLOCK_LINKS_MAX=0).response_verdict(request, cloudflare) is None
    # A wall longer than what is read is no block page.
    assert project_policy(BAN_SCAN_CHARS=1000).response_verdict(request, cloudflare) is None
    mine = project_policy(BAN_CHALLENGE_MARKERS={"inhouse": r"id=.gate-7."})
    gate = HtmlResponse(f"{SITE}/x", body=b'<div id="gate-7">One moment</div>', request=request)
    assert mine.response_verdict(request, gate).signal == "inhouse"
    with pytest.raises(ValueError, match=r"BAN_CHALLENGE_MARKERS\['bad'\]: bad regular expression"):
        project_policy(BAN_CHALLENGE_MARKERS={"bad": "(unclosed"})
