"""Near-duplicates on real crawls: three rules of one item type (a ministry, a province and a
city, each its own page furniture on a loopback server). The ministry is crawled first; then,
in another process, the province and the city in one crawl (``--tag``): it reads the signatures
the first stored, and both reposts link to the ministry's notice, the earliest of the cluster."""

from __future__ import annotations

from aiohttp import web

from crawler.store import ItemQuery, open_store
from tests.crawler.crawl import crawl, scrapy, stat, store_args
from tests.net import aiohttp_app_in_thread

NOTICE_TITLE = "关于公布2024年第三批高新技术企业认定名单的通知"
NOTICE = (
    "各有关单位：根据《高新技术企业认定管理办法》和《高新技术企业认定管理工作指引》的规定，经专家"
    "评审、公示等程序，现将2024年第三批拟认定高新技术企业名单予以公布。请各单位按照有关规定，认真"
    "做好相关工作。发布日期：2024年5月29日。特此通知。"
)
OTHER_TITLE = "关于举办2024年秋季招聘会的通知"
OTHER = (
    "各高校：定于2024年10月12日在市会展中心举办秋季招聘会，请组织应届毕业生参加。联系人：王老师。"
)

# each site: its own furniture around the same notice (edited a little), and a notice of its own
SITES = {
    "ministry": (NOTICE_TITLE, NOTICE, "部门首页 | 政务公开 | 办事服务"),
    "province": (f"【转载】{NOTICE_TITLE}", NOTICE.replace("，", ",").replace("2024年5月29日", "2024-05-29"), "省政府 · 要闻 · 通知公告"),
    "city": (NOTICE_TITLE + "（转自省政府网站）", NOTICE + " 来源：省政府网站", "市政府门户 / 公示公告"),
}  # fmt: skip

NOTICE_TYPE = """name: notice
key: [_url]
near_duplicates: {fields: [title, content]}
fields:
  title: {type: string, required: true}
  content: {type: string}
"""

RULE = """name: gov_{site}
tags: [{tag}]
args: {{site: "http://127.0.0.1:8000"}}
start: [{{url: "{{site}}/{site}/", page: listing}}]
item: {{type: notice, collection: {site}}}
pages:
  listing:
    links: [{{css: a.notice, to: notice}}]
  notice:
    fields:
      title: {{css: "h1::text", required: true}}
      content: {{css: div.content, text: true}}
"""


def page(site: str, title: str, body: str) -> str:
    nav = SITES[site][2]
    return (
        f"<html><head><title>{title} - {site}</title></head><body>"
        f"<div class='nav'>{nav}</div><h1>{title}</h1><div class='content'><p>{body}</p></div>"
        f"<ul class='related'><li>{site} 相关链接</li></ul><footer>{site} 版权所有</footer>"
        "</body></html>"
    )


def app() -> web.Application:
    async def listing(request: web.Request) -> web.Response:
        site = request.match_info["site"]
        links = f"<a class='notice' href='/{site}/1.html'>1</a>"
        if site == "ministry":  # a notice of its own: no near-duplicate anywhere
            links += f"<a class='notice' href='/{site}/2.html'>2</a>"
        return web.Response(text=f"<html><body>{links}</body></html>", content_type="text/html")

    async def notice(request: web.Request) -> web.Response:
        site, number = request.match_info["site"], request.match_info["n"]
        title, body, _ = SITES[site]
        if number == "2":
            title, body = OTHER_TITLE, OTHER
        return web.Response(text=page(site, title, body), content_type="text/html")

    application = web.Application()
    application.router.add_get("/{site}/", listing)
    application.router.add_get("/{site}/{n}.html", notice)
    return application


def test_reposts_link_to_the_earliest_notice_across_crawls(tmp_path) -> None:
    rules = tmp_path / "rules"
    (rules / "types").mkdir(parents=True)
    (rules / "types" / "notice.yaml").write_text(NOTICE_TYPE, encoding="utf-8")
    for site in SITES:
        tag = "first" if site == "ministry" else "reposts"
        (rules / f"gov_{site}.yaml").write_text(RULE.format(site=site, tag=tag), encoding="utf-8")
    with aiohttp_app_in_thread(app()) as base:
        first = crawl("gov_ministry", tmp_path, "-s", f"RULES_DIR={rules}", site=base)
        assert first.returncode == 0, first.log[-3000:]
        later = scrapy(
            "crawl", "--tag", "reposts", "-a", f"site={base}", "-s", f"RULES_DIR={rules}",
            *store_args(tmp_path),
        )  # fmt: skip
        assert later.returncode == 0, later.stderr[-3000:]
    assert (stat(first.log, "neardup/checked"), stat(first.log, "neardup/duplicates")) == (2, 0)
    assert (stat(later.stderr, "neardup/checked"), stat(later.stderr, "neardup/duplicates")) == (
        2,
        2,
    )
    assert "near-duplicates of notice: 2 earlier signature(s) read from the store" in later.stderr

    with open_store(first.store_uri) as store:
        ministry = {d["_url"]: d for d in store.iter_items("ministry", ItemQuery(limit=10))}
        original = ministry[f"{base}/ministry/1.html"]
        assert "_duplicate_of" not in original
        assert "_duplicate_of" not in ministry[f"{base}/ministry/2.html"]
        for site in ("province", "city"):
            (repost,) = list(store.find(site))
            assert repost["_duplicate_of"] == {"collection": "ministry", "key": original["_key"]}
            assert repost["title"] != original["title"]  # stored as it was, only marked
    listed = scrapy("store", "stats", *store_args(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert "ministry" in listed.stdout and "_near_duplicates" not in listed.stdout
