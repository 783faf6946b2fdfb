"""The sample site's big-page mode: a blog of long posts, their content and their markup.

Real blogs serve pages of tens to hundreds of KB: a long article plus the theme around it
(navigation, sidebar, comments, inline script and style). ``posts(n)`` is a deterministic,
prefix-stable list of posts, each with a page of ``BIG_PAGE_MIN``..``BIG_PAGE_MAX`` bytes whose
exact size is drawn from the post's own seed. Nothing big is kept: a page is built on request
by joining pre-rendered blocks (cheap), so a site of thousands of posts costs no memory.

URLs (site started with ``big_pages=n``): the list ``/blog/`` (page 1) and ``/blog/page/{k}/``
(``BLOG_PAGE_SIZE`` posts a page, in id order, an ``a.next`` link on every page but the last),
and ``/blog/{id}.html`` for each post. A post page has ``h1.entry-title``, ``time.published``
(its ``datetime`` attribute in ISO 8601), ``span.cat-links a[rel~=tag]`` (one to three
categories) and the article in ``div.entry-content``; ``article_text(post)`` is that article's
text with whitespace collapsed, which is what a crawler extracting it should find.

>>> blog = posts(30)
>>> [p.id for p in blog[:3]], posts(5) == blog[:5]
([1, 2, 3], True)
>>> all(BIG_PAGE_MIN <= len(post_page(p)) <= BIG_PAGE_MAX for p in blog)
True
>>> pages(30, BLOG_PAGE_SIZE), [p.id for p in list_page(blog, 3)]
(3, [21, 22, 23, 24, 25, 26, 27, 28, 29, 30])
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from html import escape

from .data import SEED, page_slice, pages

BLOG_PAGE_SIZE = 10
BIG_PAGE_MIN = 50_000  # bytes of a post page, markup included
BIG_PAGE_MAX = 300_000

CATEGORIES: tuple[str, ...] = (
    "Engineering", "Travel", "Cooking", "Books", "Photography", "Gardening",
    "Music", "Science", "Cycling", "History", "Design", "Notes",
)  # fmt: skip

_WORD_LIST = (
    "the of and a to in is was it for on that with as by at from this be are an or which have "
    "not had were but all their they one there been has more when would what so if about "
    "morning harbour valley engine window letter garden river season kitchen market station "
    "library mountain evening winter summer bridge island journey theory measure pattern "
    "careful quiet patient bright narrow ancient strange gentle heavy simple honest little "
    "wrote found carried opened walked measured noticed gathered explained forgot returned"
)
_WORDS = _WORD_LIST.split()
# Real posts carry typographic punctuation; one such character makes Python hold a page's text
# at two bytes a character, as it does for most real pages.
_FLOURISHES = ("’s", " — ", "…", " café", " naïve", "“quoted”")
_TITLE_WORDS = (
    "Notes", "Field", "Letters", "Winter", "Harbour", "Kitchen", "Slow", "Long", "Quiet",
    "Maps", "Engines", "Gardens", "Rivers", "Evenings", "Lessons", "Bridges",
)  # fmt: skip


@dataclass(frozen=True)
class Post:
    """One blog post; its page is ``size``-ish bytes, built from blocks chosen by ``seed``."""

    id: int
    title: str
    published: datetime.datetime
    categories: tuple[str, ...]
    size: int
    seed: int

    @property
    def url(self) -> str:
        return f"/blog/{self.id}.html"


def posts(n: int) -> list[Post]:
    """The first ``n`` posts, ids 1..n; the same on every run (seeded, prefix-stable)."""
    if n < 0:
        raise ValueError(f"big_pages must be >= 0, got {n}")
    rng = random.Random(SEED + 1)
    return [_make_post(i, rng) for i in range(1, n + 1)]


def _make_post(i: int, rng: random.Random) -> Post:
    words = rng.sample(_TITLE_WORDS, 3)
    title = f"{words[0]} of {words[1]} and {words[2]}, part {i}"
    if i % 3 == 0:
        title = f"{title}: what I’d do again"
    return Post(
        id=i,
        title=title,
        published=datetime.datetime(2012, 1, 1, 7, 30, tzinfo=datetime.UTC)
        + datetime.timedelta(days=rng.randint(0, 4500), minutes=rng.randint(0, 900)),
        categories=tuple(rng.sample(CATEGORIES, rng.randint(1, 3))),
        # leave room for the page chrome and the last block, so the page stays within bounds
        size=rng.randint(BIG_PAGE_MIN + 4_000, BIG_PAGE_MAX - 8_000),
        seed=rng.getrandbits(32),
    )


# --- blocks: pre-rendered pieces of article ----------------------------------------------------


@dataclass(frozen=True)
class _Block:
    html: str
    text: str  # what the block contributes to the article text (before whitespace collapse)
    size: int  # bytes of html in UTF-8


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 22))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] += rng.choice(_FLOURISHES)
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> tuple[str, str]:
    html, text = [], []
    for _ in range(rng.randint(3, 9)):
        s = _sentence(rng)
        roll = rng.random()
        if roll < 0.15:
            word = rng.choice(_WORDS)
            href = f"/notes/{rng.randint(1, 999)}/{word}"
            html.append(f'{escape(s)} <a href="{href}">{word}</a>.')
            text.append(f"{s} {word}.")
        elif roll < 0.25:
            word = rng.choice(_WORDS)
            html.append(f"{escape(s)} <em>{word}</em> <code>{word}()</code>")
            text.append(f"{s} {word} {word}()")
        else:
            html.append(escape(s))
            text.append(s)
    return " ".join(html), " ".join(text)


def _make_block(rng: random.Random) -> _Block:
    kind = rng.random()
    if kind < 0.70:
        html, text = _paragraph(rng)
        html, text = f"<p>{html}</p>\n", text
    elif kind < 0.80:
        heading = _sentence(rng)[:-1]
        html, text = f"<h2>{escape(heading)}</h2>\n", heading
    elif kind < 0.88:
        items = [_sentence(rng) for _ in range(rng.randint(3, 6))]
        lis = "".join(f"<li>{escape(s)}</li>\n" for s in items)
        html, text = f"<ul>\n{lis}</ul>\n", " ".join(items)
    elif kind < 0.94:
        para, ptext = _paragraph(rng)
        html, text = f"<blockquote><p>{para}</p></blockquote>\n", ptext
    else:
        lines = [f"{rng.choice(_WORDS)} = measure({rng.randint(0, 99)})" for _ in range(6)]
        caption = _sentence(rng)
        code = "\n".join(lines)
        html = (
            f'<figure><img src="/img/{rng.getrandbits(24):06x}.jpg" alt="" width="800" '
            f'height="533"><figcaption>{escape(caption)}</figcaption></figure>\n'
            f"<pre><code>{escape(code)}</code></pre>\n"
        )
        text = f"{caption} {code}"
    return _Block(html, text, len(html.encode()))


_BLOCKS: tuple[_Block, ...] = tuple(_make_block(random.Random(SEED + 2 + n)) for n in range(400))


def _blocks(post: Post, budget: int) -> list[_Block]:
    rng = random.Random(post.seed)
    chosen, used = [], 0
    while True:
        block = _BLOCKS[rng.randrange(len(_BLOCKS))]
        if used + block.size > budget and chosen:
            return chosen
        chosen.append(block)
        used += block.size


# --- markup ------------------------------------------------------------------------------------

# A theme's inline script and style: bytes every page carries that no field wants.
_THEME_STYLE = "\n".join(
    f".c{n} {{ margin: {n % 7}px {n % 5}px; color: #{n * 2654435761 % 0xFFFFFF:06x}; }}"
    for n in range(160)
)
_THEME_SCRIPT = "\n".join(
    f'window.__theme[{n}] = {{"id": {n}, "key": "k{n * 40503 % 65536:x}", "on": {str(n % 2 == 0).lower()}}};'
    for n in range(120)
)
_NAV = "\n".join(f'<li><a href="/blog/category/{c.lower()}/">{c}</a></li>' for c in CATEGORIES)


def _document(title: str, main: str, sidebar: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)} | Sample Blog</title>\n"
        f"<style>\n{_THEME_STYLE}\n</style>\n<script>\nwindow.__theme = {{}};\n{_THEME_SCRIPT}\n</script>\n"
        "</head>\n<body>\n"
        f'<header class="site-header"><a class="home" href="/blog/">Sample Blog</a>\n'
        f'<nav><ul class="menu">\n{_NAV}\n</ul></nav></header>\n'
        f'<main id="main">\n{main}\n</main>\n<aside class="sidebar">\n{sidebar}\n</aside>\n'
        '<footer class="site-footer"><p>Sample Blog — written for crawler benchmarks.</p></footer>\n'
        "</body>\n</html>\n"
    ).encode()


def _sidebar(post_id: int) -> str:
    # The ten posts before this one: a page never depends on how many posts the blog has.
    recent = "".join(
        f'<li><a href="/blog/{n}.html">Post {n}</a></li>'
        for n in range(post_id - 1, post_id - 11, -1)
        if n >= 1
    )
    return f'<section class="recent"><h3>Recent posts</h3><ul>{recent}</ul></section>'


def _comments(rng: random.Random) -> str:
    comments = "".join(
        f'<li class="comment"><p class="author">Reader {rng.randint(1, 999)}</p>'
        f"<p>{escape(_sentence(rng))}</p></li>\n"
        for _ in range(rng.randint(2, 12))
    )
    return f'<section class="comments"><h3>Comments</h3><ol>\n{comments}</ol></section>'


def _post_head(post: Post) -> str:
    cats = ", ".join(
        f'<a href="/blog/category/{c.lower()}/" rel="category tag">{c}</a>' for c in post.categories
    )
    return (
        f'<header class="entry-header"><h1 class="entry-title">{escape(post.title)}</h1>\n'
        f'<div class="entry-meta"><time class="published" datetime="{post.published.isoformat()}">'
        f"{post.published:%B} {post.published.day}, {post.published.year}</time>\n"
        f'<span class="cat-links">{cats}</span></div></header>\n'
    )


def _post_parts(post: Post) -> tuple[str, str, str, list[_Block]]:
    rng = random.Random(post.seed ^ 0x5EED)
    head, comments, sidebar = _post_head(post), _comments(rng), _sidebar(post.id)
    chrome = len(_document(post.title, _main(head, "", comments), sidebar))
    return head, comments, sidebar, _blocks(post, post.size - chrome)


def _main(head: str, article: str, comments: str) -> str:
    return (
        f'<article class="post">\n{head}<div class="entry-content">\n{article}</div>\n'
        f"</article>\n{comments}"
    )


def post_page(post: Post) -> bytes:
    """The page of one post: theme, header, the article, comments, sidebar."""
    head, comments, sidebar, blocks = _post_parts(post)
    return _document(post.title, _main(head, "".join(b.html for b in blocks), comments), sidebar)


def article_text(post: Post) -> str:
    """The text of a post's ``div.entry-content``, whitespace collapsed (as a crawler sees it)."""
    blocks = _post_parts(post)[3]
    return " ".join(" ".join(b.text for b in blocks).split())


def list_page(blog: list[Post], page: int) -> list[Post]:
    """The posts listed on 1-based ``page`` of ``/blog/``."""
    return page_slice(blog, page, BLOG_PAGE_SIZE)


def blog_list_page(blog: list[Post], page: int) -> bytes:
    """One page of ``/blog/``: each post's title, date and opening paragraph, and a next link."""
    count = pages(blog, BLOG_PAGE_SIZE)
    entries = []
    for post in list_page(blog, page):
        opening = _BLOCKS[random.Random(post.seed).randrange(len(_BLOCKS))].html
        entries.append(
            f'<article class="summary"><h2 class="entry-title"><a href="{post.url}">'
            f"{escape(post.title)}</a></h2>\n"
            f'<time datetime="{post.published.isoformat()}">{post.published:%Y-%m-%d}</time>\n'
            f'<div class="excerpt">{opening}</div></article>\n'
        )
    nav = ""
    if page < count:
        nav = f'<nav class="pagination"><a class="next" href="/blog/page/{page + 1}/">Older posts</a></nav>'
    main = "".join(entries) + nav
    return _document(f"Blog (page {page})", main, _sidebar(1))
