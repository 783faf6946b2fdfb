"""The corpus of benchmarks/bench_neardup.py: notices, their reposts, and the sites that serve
them, generated from a seed (the same arguments always give the same pages).

- **Notices** (half Chinese, half English; benchmarks/neardup_notices.py), each of one of five
  kinds a government site publishes (a list made public, a tender, a meeting, new measures,
  appointments): a title and paragraphs, facts drawn at random (offices, companies, people,
  sums, dates, phone numbers) between the kind's fixed sentences, plus boilerplate.
- **Hard negatives**: about one notice in five has a sibling of the same kind from the same
  office, written from the same template with other facts (the next round of a list, another
  tender): a distinct story that shares much of its text.
- **Reposts**: a notice is reposted by 0 to 3 other sites of its language, each with light
  edits (one to three of: a prefix such as 【转载】, a sentence changed, punctuation, the date
  written another way, whitespace, a source line, the title's ending).
- **Sites**: four per language, each with its own page furniture (navigation, breadcrumbs, an
  information line, related links to other notices, a footer) and its own markup.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from html import escape

from benchmarks.neardup_notices import (
    EN_BOILERPLATE,
    EN_OFFICES,
    EN_PLACES,
    KINDS,
    ZH_BOILERPLATE,
    ZH_OFFICES,
    ZH_PLACES,
    Notice,
    write_notice,
)


@dataclass
class Page:
    site: int
    url: str
    html: str
    story: int
    repost: bool
    order: int  # when its site's crawl meets it
    edits: list[str] = field(default_factory=list)


# -- reposting -------------------------------------------------------------------------------

ZH_PUNCT = {"，": ",", "：": ":", "；": ";", "（": "(", "）": ")", "。": "."}
EDITS = ("prefix", "sentence", "punctuation", "date", "whitespace", "source", "ending")


def repost(notice: Notice, source: str, rng: random.Random) -> tuple[str, list[str], list[str]]:
    """``(title, paragraphs, edits)`` of a light repost of ``notice`` credited to ``source``."""
    zh = notice.lang == "zh"
    title, paras = notice.title, list(notice.paragraphs)
    edits = rng.sample(EDITS, rng.randint(1, 3))
    for edit in edits:
        if edit == "prefix":
            title = (
                rng.choice(
                    ["【转载】", "转发：", "【转】"] if zh else ["Repost: ", "[Shared] ", "FWD: "]
                )
                + title
            )
        elif edit == "ending":
            title += rng.choice(["（全文）", "（附名单）"] if zh else [" (full text)", " - update"])
        elif edit == "sentence":  # one sentence changed: another boilerplate line, or cut short
            sentences = [i for i, p in enumerate(paras) if i and len(p) < 150 and "1. " not in p]
            i = rng.choice(sentences)
            bank = ZH_BOILERPLATE if zh else EN_BOILERPLATE
            cut = re.split(r"[，,]", paras[i], maxsplit=1)
            paras[i] = rng.choice(bank) if rng.random() < 0.5 or len(cut) < 2 else cut[1]
        elif edit == "punctuation":
            if zh:
                paras = [
                    "".join(ZH_PUNCT.get(c, c) if rng.random() < 0.6 else c for c in p)
                    for p in paras
                ]
            else:
                paras = [
                    p.replace(", ", rng.choice([" ", "; ", " - "])).replace(": ", " - ")
                    for p in paras
                ]
        elif edit == "date":
            if zh:
                pattern, fmt = (
                    r"(\d{4})年(\d{1,2})月(\d{1,2})日",
                    rng.choice(["{0}-{1:02d}-{2:02d}", "{0}/{1}/{2}", "{0}.{1:02d}.{2:02d}"]),
                )
            else:
                pattern, fmt = (
                    r"([A-Z][a-z]+) (\d{1,2}), (\d{4})",
                    rng.choice(["{2}-{0}-{1:02d}", "{1} {0} {2}"]),
                )

            def redate(match: re.Match[str], fmt: str = fmt) -> str:
                a, b, c = match.groups()
                if zh:
                    return fmt.format(int(a), int(b), int(c))
                return fmt.format(a[:3], int(b), c)

            paras = [re.sub(pattern, redate, p) for p in paras]
        elif edit == "whitespace":
            paras = [
                ("\u3000\u3000" if zh else "   ")
                + p.replace("。" if zh else ". ", "。 \n" if zh else ".  \n")
                for p in paras
            ]
        elif edit == "source":
            paras.append(f"（来源：{source}）" if zh else f"Source: {source}.")
    return title, paras, edits


# -- sites -----------------------------------------------------------------------------------


@dataclass
class Site:
    index: int
    lang: str
    name: str
    host: str
    style: int
    nav: list[str]
    footer: str

    def page(
        self,
        number: int,
        title: str,
        paras: list[str],
        date: tuple[int, int, int],
        related: list[str],
    ) -> str:
        zh = self.lang == "zh"
        when = f"{date[0]}-{date[1]:02d}-{date[2]:02d}"
        info = (
            f"发布时间：{when}　来源：{self.name}　浏览次数：{number * 7 % 997}"
            if zh
            else f"Published {when} | {self.name} | Views: {number * 7 % 997}"
        )
        nav = "".join(
            f"<li><a href='/col/{i}/'>{escape(n)}</a></li>" for i, n in enumerate(self.nav)
        )
        rel = "".join(
            f"<li><a href='/art/{number + i + 1}.html'>{escape(t)}</a></li>"
            for i, t in enumerate(related)
        )
        crumbs = f"<a href='/'>{'首页' if zh else 'Home'}</a> &gt; <a href='/col/3/'>{escape(self.nav[3])}</a> &gt; {'正文' if zh else 'Article'}"
        head = (
            f"<head><meta charset='utf-8'><title>{escape(title)}_{escape(self.name)}</title></head>"
        )
        text = [escape(p) for p in paras]
        if self.style == 0:
            body = (
                f"<div class='header'><div class='logo'>{escape(self.name)}</div><ul class='nav'>{nav}</ul></div>"
                f"<div class='position'>{crumbs}</div><div class='article'><h1>{escape(title)}</h1>"
                f"<div class='info'>{info}</div><div class='TRS_Editor'>"
                + "".join(f"<p style='text-indent:2em'>{p}</p>" for p in text)
                + f"</div></div><div class='xglj'><h3>{'相关链接' if zh else 'Related'}</h3><ul>{rel}</ul></div>"
                f"<div class='footer'>{self.footer}</div>"
            )
        elif self.style == 1:
            body = (
                f"<table width='1000' align='center'><tr><td class='nav' colspan='2'><ul>{nav}</ul></td></tr>"
                f"<tr><td class='crumb' colspan='2'>{crumbs}</td></tr><tr><td width='760'>"
                f"<table><tr><td class='title' align='center'><h2>{escape(title)}</h2></td></tr>"
                f"<tr><td class='info'>{info}</td></tr><tr><td id='zoom'>"
                + "".join(f"<p>{p}</p>" for p in text)
                + f"</td></tr></table></td><td width='240' class='side'><b>{'热点信息' if zh else 'Popular'}</b><ul>{rel}</ul></td></tr>"
                f"<tr><td colspan='2' class='foot'>{self.footer}</td></tr></table>"
            )
        elif self.style == 2:
            body = (
                f"<header><p class='site'>{escape(self.name)}</p><nav><ul>{nav}</ul></nav></header>"
                f"<main><p class='crumbs'>{crumbs}</p><article><header><h1>{escape(title)}</h1><p class='meta'>{info}</p></header>"
                + "".join(f"<p>{p}</p>" for p in text)
                + f"</article><aside><h2>{'延伸阅读' if zh else 'Read also'}</h2><ul>{rel}</ul></aside></main>"
                f"<footer><p>{self.footer}</p></footer>"
            )
        else:
            body = (
                f"<div id='top'>{escape(self.name)}</div><div id='left'><ul>{nav}</ul><ul>{rel}</ul></div>"
                f"<div id='right'><div class='crumb'>{crumbs}</div><h2 class='tit'>{escape(title)}</h2>"
                f"<div class='sub'>{info}</div><div class='con'>"
                + "<br/><br/>".join(text)
                + f"</div></div><div id='bottom'>{self.footer}</div>"
            )
        return f"<!DOCTYPE html><html lang='{'zh-CN' if zh else 'en'}'>{head}<body>{body}</body></html>"


def make_sites(rng: random.Random, per_language: int) -> list[Site]:
    zh_names = [
        "国家发展改革委",
        "浙江省人民政府",
        "杭州市人民政府",
        "西湖区人民政府",
        "江苏省财政厅",
        "南京市政务网",
    ]
    en_names = [
        "Ministry Portal",
        "Northfield County",
        "Riverside City Council",
        "Harbour District Office",
        "State Gazette",
        "Eastgate Borough",
    ]
    zh_nav = [
        "首页",
        "机构概况",
        "政务公开",
        "通知公告",
        "政策文件",
        "办事服务",
        "互动交流",
        "专题专栏",
        "数据发布",
        "政策解读",
        "人事信息",
        "联系我们",
    ]
    en_nav = [
        "Home",
        "About us",
        "News",
        "Notices",
        "Policies",
        "Services",
        "Have your say",
        "Data",
        "Jobs",
        "Contact",
        "Accessibility",
        "Sitemap",
    ]
    sites = []
    for lang, names, navs in (("zh", zh_names, zh_nav), ("en", en_names, en_nav)):
        for i in range(per_language):
            name = names[i % len(names)]
            nav = rng.sample(navs, 9)
            nav[0] = navs[0]
            footer = (
                f"主办：{name} 地址：{rng.choice(ZH_PLACES)}人民路{rng.randint(1, 300)}号 电话：0571-{rng.randint(1000000, 9999999)} 网站标识码{rng.randint(10**9, 10**10)} 浙ICP备{rng.randint(10000, 99999)}号"
                if lang == "zh"
                else f"© {name}, {rng.randint(1, 300)} High Street, {rng.choice(EN_PLACES)}. Telephone 01{rng.randint(100000000, 999999999)}. Privacy | Cookies | Accessibility statement"
            )
            sites.append(
                Site(len(sites), lang, name, f"site{len(sites)}.bench.test", i % 4, nav, footer)
            )
    return sites


# -- the corpus ------------------------------------------------------------------------------


@dataclass
class Corpus:
    sites: list[Site]
    notices: list[Notice]  # originals (siblings included), by story
    pages: list[Page]  # in the order the crawls meet them: monthly rounds of every site


def make_corpus(
    originals: int, seed: int = 7, sites_per_language: int = 4, siblings: float = 0.2
) -> Corpus:
    """``originals`` notices (about ``siblings`` of them hard negatives of another), each on a
    home site and reposted by 0 to 3 other sites of its language within 3 days; the pages in
    the order monthly crawls of each site meet them (a month's round: site by site)."""
    from datetime import date as day_of

    rng = random.Random(seed)
    sites = make_sites(rng, sites_per_language)
    notices: list[Notice] = []
    while len(notices) < originals:
        zh = len(notices) % 2 == 0
        kind = rng.choice(KINDS)
        office = rng.choice(ZH_OFFICES if zh else EN_OFFICES)
        boiler = rng.sample(ZH_BOILERPLATE if zh else EN_BOILERPLATE, rng.randint(3, 5))
        first = len(notices)
        lang = "zh" if zh else "en"
        notices.append(write_notice(first, lang, kind, office, boiler, random.Random(rng.random())))
        if rng.random() < siblings and len(notices) < originals:  # the same template, other facts
            sibling = write_notice(
                len(notices), lang, kind, office, boiler, random.Random(rng.random())
            )
            sibling.sibling_of = first
            notices.append(sibling)
    placed = []  # crawled in monthly rounds: each site once a month, the sites in turn

    def crawl_round(day: int) -> tuple[int, int]:
        when = day_of.fromordinal(day)
        return when.year, when.month

    for notice in notices:
        home, *others = rng.sample([s for s in sites if s.lang == notice.lang], sites_per_language)
        day = day_of(*notice.date).toordinal()
        placed.append(
            (
                crawl_round(day),
                home.index,
                day,
                len(placed),
                home,
                notice,
                notice.title,
                notice.paragraphs,
                [],
            )
        )
        for site in others[: rng.choices([0, 1, 2, 3], weights=[25, 35, 25, 15])[0]]:
            title, paras, edits = repost(notice, home.name, rng)
            later = day + rng.randint(0, 3)
            placed.append(
                (
                    crawl_round(later),
                    site.index,
                    later,
                    len(placed),
                    site,
                    notice,
                    title,
                    paras,
                    edits,
                )
            )
    placed.sort(key=lambda p: p[:4])
    by_lang = {lang: [n.title for n in notices if n.lang == lang] for lang in ("zh", "en")}
    pages = []
    for order, (*_, site, notice, title, paras, edits) in enumerate(placed):
        related = rng.sample(by_lang[notice.lang], 6)
        html = site.page(order, title, paras, notice.date, related)
        url = f"http://{site.host}/art/{notice.date[0]}/{order}.html"
        pages.append(Page(site.index, url, html, notice.story, bool(edits), order, edits))
    return Corpus(sites, notices, pages)
