"""``render: auto``'s judgement of a static page, without a browser: the marker, the spider's
reasons, and the responses it leaves to others (errors, ban pages)."""

from __future__ import annotations

from types import SimpleNamespace

from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.render.auto import META_AUTO, AutoRender
from crawler.rules.sections.render import RenderSpec


class Spider:
    name = "shop"

    def __init__(self, reason: str | None) -> None:
        self.reason = reason
        self.asked = 0

    def lacks_content(self, response: Response) -> str | None:
        self.asked += 1
        return self.reason


class Policy:
    def __init__(self, verdict: object) -> None:
        self.verdict = verdict

    def response_verdict(self, request: Request, response: Response) -> object:
        return self.verdict


def auto(reason: str | None = None, verdict: object = None) -> tuple[AutoRender, Spider]:
    crawler = get_crawler(settings_dict={"RENDER_AUTO_SWITCH_AFTER": 2})
    crawler.stats = MemoryStatsCollector(crawler)
    spider = Spider(reason)
    crawler.spider = spider
    return AutoRender(crawler, Policy(verdict)), spider


def fetched(judge: AutoRender, spec: RenderSpec, body: str, status: int = 200):
    request = Request("http://shop.test/p/1", meta={"rule_page": "product"})
    assert not judge.renders(request, spec)  # static first
    assert request.meta[META_AUTO] == "static"
    response = HtmlResponse(request.url, status=status, body=body.encode(), request=request)
    return request, judge.judge(request, response, spec)


def test_a_page_showing_the_marker_is_fetched_again_rendered_without_asking_the_spider():
    judge, spider = auto()
    spec = RenderSpec(auto=True, marker=r'<div id="app"></div>')
    request, again = fetched(judge, spec, '<html><div id="app"></div></html>')
    assert again is not None and again.url == request.url and again.dont_filter
    assert again.meta[META_AUTO] == "render" and again.meta["rule_page"] == "product"
    assert judge.renders(again, spec)  # the fallback renders whatever the memory says
    assert spider.asked == 0 and judge.stats.get_value("render/auto/misses/marker") == 1


def test_the_spiders_reason_decides_and_two_misses_in_a_row_make_the_type_render_first():
    judge, spider = auto(reason="required")
    spec = RenderSpec(auto=True, recheck=3)
    for _ in range(2):
        _, again = fetched(judge, spec, "<html><h1>Shell</h1></html>")
        assert again is not None
    assert judge.stats.get_value("render/auto/misses/required") == 2
    assert judge.stats.get_value("render/auto/render_first") == 1
    # the type now renders first; the third page of it is a static re-check
    for n in (2, 3):
        assert judge.renders(
            Request(f"http://shop.test/p/{n}", meta={"rule_page": "product"}), spec
        )
    spider.reason = None
    _, again = fetched(judge, spec, "<html><h1>Whole</h1></html>")
    assert again is None  # whole statically: back to static first
    assert judge.stats.get_value("render/auto/rechecks") == 1
    assert judge.stats.get_value("render/auto/static_first") == 1
    assert judge.stats.get_value("render/auto/static") == 1


def test_errors_and_ban_pages_are_not_judged():
    judge, spider = auto(reason="no_items")
    _, again = fetched(judge, RenderSpec(auto=True), "<html>gone</html>", status=404)
    assert again is None
    judge, spider = auto(reason="no_items", verdict=SimpleNamespace(reason="captcha"))
    _, again = fetched(judge, RenderSpec(auto=True), "<html>verify you are human</html>")
    assert again is None and spider.asked == 0
    assert judge.stats.get_value("render/auto/fallbacks") is None
