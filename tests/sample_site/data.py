"""The sample site's content: a generated book catalogue, fixed Chinese news, the broken links.

Everything here is deterministic: ``catalogue(n)`` is the same list on every run and machine, and
it is prefix-stable (``catalogue(n)[:k] == catalogue(k)``), so a test that starts the site with
``books=n`` derives every expected item from ``catalogue(n)`` without scraping anything first.

How a test derives what a crawl should find (site started with ``books=n``):

- Tag listing ``/tag/{slug}/``: ``tag_listing(slug, catalogue(n))`` is the books on each page
  (``TAG_PAGE_SIZE`` per page, in id order; page 1 is ``/tag/{slug}/``, page k is
  ``/tag/{slug}/page/{k}/``). The last page of ``misc`` also lists the ``BROKEN_ROWS`` (same
  markup), which link to ``BROKEN_LINKS``.
- List fields: the anchor text is ``short_title(book.title)``, its ``title`` attribute the full
  title, the price ``"£" + book.price``, the rating ``RATING_WORDS[book.rating]`` as a class.
- Detail ``/book/{id}.html``: ``title``, ``price``, ``stock``, ``upc``, ``description``,
  ``published`` (rendered ``chinese_date(published)``) and the tag's display name.
- ``/books/?page=p``: ``BOOKS_PAGE_SIZE`` per page, ``pages(n, BOOKS_PAGE_SIZE)`` pages.
- APIs: ``api_item(book)`` is the JSON object every API returns for a book.
- ``POST /api/search``: the results are ``search(catalogue(n), q, tag)`` as ``api_item``s.
- ``/gbk/``: ``NEWS`` (and ``NEWS_INTRO`` on the list page), encoded in GB18030.

>>> books = catalogue(60)
>>> [b.id for b in books[:3]], books[0].tag, books[5].tag
([1, 2, 3], 'travel', 'travel')
>>> catalogue(10) == books[:10]
True
>>> [b.id for b in books_in_tag("misc", books)][:3]
[5, 10, 15]
>>> pages(12, 10), pages(0, 10), pages(books, 20)
(2, 1, 3)
>>> [[b.id for b in page] for page in tag_listing("misc", books)]
[[5, 10, 15, 20, 25, 30, 35, 40, 45, 50], [55, 60]]
>>> short_title("x" * 41)
'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'
>>> chinese_date(datetime.date(2024, 3, 5))
'2024年3月5日'
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from typing import TypeVar

TAGS: list[tuple[str, str]] = [
    ("travel", "Travel"),
    ("mystery", "Mystery"),
    ("poetry", "Poetry"),
    ("science", "Science"),
    ("misc", "Misc"),
]
TAG_NAMES: dict[str, str] = dict(TAGS)

TAG_PAGE_SIZE = 10
BOOKS_PAGE_SIZE = 20
API_PAGE_SIZE = 20  # default limit of /api/books and the fixed page size of the cursor API
API_MAX_LIMIT = 100
SHORT_TITLE_MAX = 40

RATING_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five"}

SEED = 42

T = TypeVar("T")


@dataclass(frozen=True)
class Book:
    """One book of the catalogue; ``price`` is a string with two decimals, e.g. ``"12.34"``."""

    id: int
    title: str
    price: str
    rating: int
    tag: str
    stock: int
    upc: str
    description: str
    published: datetime.date

    @property
    def url(self) -> str:
        return f"/book/{self.id}.html"


@dataclass(frozen=True)
class News:
    """One Chinese news article of the GB18030-encoded section."""

    id: int
    title: str
    body: str
    published: datetime.date

    @property
    def url(self) -> str:
        return f"/gbk/{self.id}.html"


@dataclass(frozen=True)
class BrokenRow:
    """An extra row on the last ``misc`` page that links somewhere that does not parse or exist."""

    key: str  # the row's data-id
    path: str
    title: str
    price: str
    rating: int
    status: int  # what GET path answers


# Vocabulary for the generated titles. Nouns follow the tag so listings read plausibly.
_ADJECTIVES = (
    "Silent", "Hidden", "Golden", "Broken", "Distant", "Crimson", "Quiet", "Restless",
    "Forgotten", "Burning", "Gentle", "Wandering", "Northern", "Hollow", "Secret", "Bright",
)  # fmt: skip
_NOUNS = {
    "travel": ("Road", "Harbour", "Journey", "Map", "Border", "Train", "Island", "Passage"),
    "mystery": ("Murder", "Alibi", "Witness", "Cipher", "Shadow", "Clue", "Stranger", "Key"),
    "poetry": ("Verses", "Songs", "Elegy", "Sonnets", "Hymns", "Lines", "Ballads", "Odes"),
    "science": ("Atoms", "Orbit", "Genome", "Entropy", "Signal", "Fossil", "Tide", "Comet"),
    "misc": ("Kitchen", "Garden", "Ledger", "Almanac", "Workshop", "Attic", "Letters", "Clock"),
}
_PLACES = (
    "Lisbon", "the Valley", "Kyoto", "the North", "Marrakesh", "the Fens", "Oslo", "the Coast",
    "Patagonia", "the City", "Tbilisi", "the Moor",
)  # fmt: skip
_NAMES = ("O'Brien", "Mrs Hale", "Dr Okafor", "Old Tom", "Agnes", "D'Arcy")
_SUBTITLES = (
    "A Journey Through Forgotten Valleys and Ports",
    "Notes From an Unfinished Century of Wonder",
    "Collected Stories, Letters and Other Fragments",
    "An Illustrated Companion for Curious Readers",
    "Being the True Account of a Most Unusual Year",
    "With a New Introduction by the Author",
)
# Titles that break naive markup: ampersands, angle brackets, both kinds of quotes.
_NASTY = (
    "{noun} & {noun2}",
    "Why 1 < 2: The {adj} {noun}",
    'The "{adj}" {noun}',
    "{name}'s {noun}",
    "{noun} <Abridged>",
    'Salt & Smoke: "{adj}" {nouns}',
    "Less <b>Is</b> {noun}",
)
_CHINESE = (
    "海边的灯塔", "雨夜书店", "北方的河流", "星辰与大海", "旧城往事", "春天的来信",
    "山间小路", "茶馆里的故事", "长安十二时辰之外", "一个人的远行",
)  # fmt: skip
_SENTENCES = (
    "A {adj_l} story of {noun_l}, {place} and the people between them.",
    "Written over ten years, it moves from {place} to places no map records.",
    "Readers will find humour, grief & a stubborn kind of hope here.",
    "The prose is spare; the ideas are not.",
    "First published in a small print run, it has never been out of circulation since.",
    "It asks what is left of the {noun_l} when nobody is watching.",
    "Each chapter ends where the next one least expects to begin.",
    "Part field guide, part confession, it rewards slow reading.",
    'Its author once said the book "wrote itself at night".',
    "A favourite of booksellers in {place}.",
)


def catalogue(books: int = 60) -> list[Book]:
    """The first ``books`` books, ids 1..books; identical on every run (seeded generator)."""
    if books < 0:
        raise ValueError(f"books must be >= 0, got {books}")
    rng = random.Random(SEED)
    return [_make_book(i, rng) for i in range(1, books + 1)]


def _make_book(i: int, rng: random.Random) -> Book:
    slug = TAGS[(i - 1) % len(TAGS)][0]
    cents = rng.randint(299, 7999)
    return Book(
        id=i,
        title=_make_title(i, slug, rng),
        price=f"{cents // 100}.{cents % 100:02d}",
        rating=rng.randint(1, 5),
        tag=slug,
        stock=rng.randint(1, 40),
        upc=f"{rng.getrandbits(64):016x}",
        description=_make_description(slug, rng),
        published=datetime.date(1990, 1, 1) + datetime.timedelta(days=rng.randint(0, 12000)),
    )


def _make_title(i: int, slug: str, rng: random.Random) -> str:
    nouns = _NOUNS[slug]
    words = {
        "adj": rng.choice(_ADJECTIVES),
        "noun": (noun := rng.choice(nouns)),
        "nouns": noun if noun.endswith("s") else noun + "s",
        "noun2": rng.choice(nouns),
        "place": rng.choice(_PLACES),
        "name": rng.choice(_NAMES),
    }
    # Which books get the awkward titles depends on the id, not on the draw, so the rates are
    # exact (1 in 7 nasty, 1 in 5 Chinese, 1 in 4 long) and spread over all five tags.
    nasty = i % 7 == 3
    chinese = (i + i // 5) % 5 == 3
    long = i % 4 == 2
    if nasty:
        title = _NASTY[(i // 7) % len(_NASTY)].format(**words)
    else:
        plain = (
            "The {adj} {noun}",
            "{noun} of {place}",
            "A {adj} {noun}",
            "The Last {noun} in {place}",
            "{adj} {nouns}",
        )
        title = rng.choice(plain).format(**words)
    if chinese:
        hanzi = rng.choice(_CHINESE)
        # Half the Chinese titles are pure Chinese; a nasty title keeps its nasty part.
        title = f"{title} · {hanzi}" if nasty or (i // 5) % 2 else hanzi
    if long:
        title = f"{title}: {rng.choice(_SUBTITLES)}"
    return title


def _make_description(slug: str, rng: random.Random) -> str:
    words = {
        "adj_l": rng.choice(_ADJECTIVES).lower(),
        "noun_l": rng.choice(_NOUNS[slug]).lower(),
        "place": rng.choice(_PLACES),
    }
    sentences = rng.sample(_SENTENCES, rng.randint(1, 3))
    return " ".join(s.format(**words) for s in sentences)


def short_title(title: str) -> str:
    """The list-page form of a title: over 40 characters, cut to 37 and end with ``...``."""
    if len(title) > SHORT_TITLE_MAX:
        return title[: SHORT_TITLE_MAX - 3] + "..."
    return title


def chinese_date(day: datetime.date) -> str:
    """``2024年3月5日``: month and day without leading zeros."""
    return f"{day.year}年{day.month}月{day.day}日"


def books_in_tag(slug: str, books: Iterable[Book]) -> list[Book]:
    """The books of one tag, in id order."""
    return [b for b in books if b.tag == slug]


def pages(items: int | Sized, per_page: int) -> int:
    """Pages needed to list ``items`` (a count or a collection); an empty listing has one page."""
    count = items if isinstance(items, int) else len(items)
    return max(1, -(-count // per_page))


def page_slice(items: Sequence[T], page: int, per_page: int) -> list[T]:
    """The items shown on 1-based ``page``."""
    start = (page - 1) * per_page
    return list(items[start : start + per_page])


def tag_listing(slug: str, books: Iterable[Book]) -> list[list[Book]]:
    """The books on each page of ``/tag/{slug}/`` (without the broken rows of ``misc``)."""
    tagged = books_in_tag(slug, books)
    return [
        page_slice(tagged, n, TAG_PAGE_SIZE) for n in range(1, pages(tagged, TAG_PAGE_SIZE) + 1)
    ]


def api_item(book: Book) -> dict[str, object]:
    """The JSON object every API answers for one book."""
    return {
        "id": book.id,
        "title": book.title,
        "price": book.price,
        "tag": book.tag,
        "url": book.url,
    }


def search(books: Iterable[Book], q: str, tag: str | None = None) -> list[Book]:
    """What ``POST /api/search`` finds: ``q`` in the title (case-insensitive), optional tag."""
    needle = q.casefold()
    return [b for b in books if needle in b.title.casefold() and (tag is None or b.tag == tag)]


BROKEN_ROWS: tuple[BrokenRow, ...] = (
    BrokenRow("broken-1", "/book/broken-1.html", "A Book That Will Not Parse", "9.99", 3, 200),
    BrokenRow("999999", "/book/999999.html", "A Book That Was Never Written", "0.99", 1, 404),
)
# Where the malformed content on the last ``misc`` page links to. /book/broken-1.html answers
# 200 with broken HTML (no title, no price); /book/999999.html answers 404 (for any books < 999999).
BROKEN_LINKS: tuple[str, ...] = tuple(row.path for row in BROKEN_ROWS)

NEWS: list[News] = [
    News(
        1,
        "第十二届城市书展今日开幕",
        "第十二届城市书展于今天上午在会展中心正式开幕，共有来自全国各地的１２３家出版社参展。"
        "本届书展以「阅读让城市更温暖」为主题，设置了儿童读物、科普图书、古籍整理等六个展区。"
        "主办方介绍，书展期间将举办１２０余场讲座和签售活动（部分活动需提前预约）。"
        "开幕当天，不少市民一早就在门口排起了长队。一位带着孩子前来的家长说："
        "「每年都来，今年的展区比去年更大，选择也更多。」据了解，书展将持续到本月二十日，"
        "每天上午九点至晚上八点对外开放，学生凭证件可以免费入场。",
        datetime.date(2024, 3, 1),
    ),
    News(
        2,
        "地铁十二号线下月开始试运营",
        "记者从市交通部门获悉，地铁１２号线将于下月一日起开始试运营。"
        "该线路全长约２８公里，共设车站２１座，连接城市东部的新区和西部的老城区。"
        "试运营期间，列车运行时间为早上六点至晚上十点，高峰时段行车间隔约为五分钟。"
        "交通部门提醒乘客，部分车站的出入口仍在施工（具体信息以站内公告为准），请大家合理安排出行时间。"
        "市民王先生表示：「以前上班要换乘两次，现在一趟就能到，每天能节省将近半个小时。」"
        "相关负责人称，正式运营后还将根据客流情况进一步调整运行图。",
        datetime.date(2024, 3, 8),
    ),
    News(
        3,
        "秋季农产品丰收，价格保持稳定",
        "今年秋季，本省主要农产品迎来丰收，粮食总产量预计比去年增长３．５％。"
        "农业部门的数据显示，水稻、玉米和大豆的种植面积均保持稳定，单位面积产量有所提高。"
        "受益于良好的天气条件和新技术的推广，许多农户的收入明显增加。"
        "在城郊的一个蔬菜基地，种植户李大姐一边采摘一边说：「今年雨水合适，白菜和萝卜长得特别好。」"
        "市场方面，近期蔬菜和水果的零售价格总体平稳，部分品种（如苹果、梨）价格略有下降。"
        "有关部门表示，将继续做好农产品的储存和运输工作，保障市场供应。",
        datetime.date(2024, 10, 12),
    ),
    News(
        4,
        "市博物馆推出夜间开放活动",
        "为了满足市民和游客的参观需求，市博物馆从本周五起推出夜间开放活动，每周五、周六延长开放至晚上九点。"
        "夜间开放期间，博物馆将推出「灯下看文物」特别导览，由专业讲解员带领观众欣赏青铜器、瓷器和书画等"
        "１５０件精品文物。馆方还准备了手工体验、文物修复演示等互动项目（每场限２０人）。"
        "一位大学生在网上留言：「终于可以下课后去博物馆了，期待夜色里的展厅。」"
        "博物馆负责人介绍，夜间参观同样免费，但需要通过官方网站提前预约，每晚限流三千人次。据统计，活动推出以来预约名额几乎每天都被一抢而空。",
        datetime.date(2024, 5, 17),
    ),
    News(
        5,
        "青少年科技创新大赛圆满落幕",
        "第二十届青少年科技创新大赛昨天在市科技馆落下帷幕，来自全市１８所中学的２６０多名学生参加了比赛。"
        "参赛作品涵盖人工智能、环境保护、生物医学和机器人等多个领域。"
        "其中，一组初中生设计的「智能垃圾分类箱」获得一等奖，"
        "这个装置能够通过摄像头自动识别垃圾种类（识别准确率超过９０％）。"
        "评委表示，今年的作品不仅创意新颖，而且更加注重解决生活中的实际问题。"
        "获奖学生小张激动地说：「我们花了半年时间反复修改，最终的结果让大家觉得一切都值得。」大赛组委会表示，优秀作品还将推荐参加全国比赛。",
        datetime.date(2024, 7, 3),
    ),
    News(
        6,
        "气象台发布寒潮蓝色预警",
        "市气象台今天上午发布寒潮蓝色预警，预计从明天夜间开始，受强冷空气影响，"
        "全市将出现大风和明显降温天气，最低气温可降至零下５度左右。"
        "气象专家提醒，这次寒潮过程降温幅度大、持续时间长，市民要及时增添衣物，注意防寒保暖。"
        "有关部门已经提前做好准备，对供暖设施和道路交通进行了检查（重点路段将安排专人值守）。"
        "家住老城区的赵奶奶说：「听说要降温，我已经把厚棉被拿出来晒了晒。」"
        "气象台表示，寒潮过后气温将逐步回升，下周中期天气转好，请大家密切关注最新的天气预报。",
        datetime.date(2024, 12, 2),
    ),
]

# The list page's filler paragraph: with the six titles it gives a statistical charset detector
# enough Chinese text to be sure of GB18030 on a page that declares no charset.
NEWS_INTRO = (
    "本页面汇集了本地最新的新闻报道，内容涵盖文化、交通、农业、科技和天气等多个方面。"
    "我们的编辑团队每天都会精心挑选读者关心的话题，力求做到真实、准确、及时。"
    "如果您对某一篇报道感兴趣，请点击标题阅读全文。"
    "欢迎广大读者通过电子邮件向我们提供新闻线索（来信请注明联系方式），"
    "我们将认真对待每一条意见和建议。感谢您一直以来的关注与支持！"
)


@dataclass(frozen=True)
class FreeProxy:
    """One row of the free-proxy list pages (``/free-proxies/``), the kind free-proxy sites publish."""

    host: str
    port: int
    code: str
    country: str
    anonymity: str  # "elite proxy", "anonymous" or "transparent", as such sites write it
    https: bool


FREE_PROXY_PAGE_SIZE = 20
_COUNTRIES = (
    ("US", "United States"),
    ("DE", "Germany"),
    ("BR", "Brazil"),
    ("CN", "China"),
    ("ID", "Indonesia"),
)
_ANONYMITY = ("elite proxy", "anonymous", "transparent")

#: 30 loopback addresses: listed, like most of a free list, whether or not anything answers there.
FREE_PROXIES: tuple[FreeProxy, ...] = tuple(
    FreeProxy(
        host=f"127.0.{20 + i // 10}.{i % 10 + 2}",
        port=8080 + i,
        code=_COUNTRIES[i % 5][0],
        country=_COUNTRIES[i % 5][1],
        anonymity=_ANONYMITY[i % 3],
        https=i % 2 == 0,
    )
    for i in range(30)
)
