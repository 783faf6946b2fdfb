"""The sample site's security blog: long articles about captchas and blocking that show captcha
images, as a real blog about bots does. Every page of it is content: a crawler must store each
article and take none for a wall (the ban policy's markers, captcha images and vendor names all
appear in it).

URLs: ``/security/`` lists the articles (``ul.posts a``); ``/security/{slug}.html`` is one
article: ``article h1``, ``time[datetime]``, the text in ``div.entry-content`` with two or three
captcha images (``/security/img/{slug}-{n}.png``, real PNGs from :mod:`.captchas`), and a
comment form with its own captcha image beside a text input, as comment plugins do. The chrome
is light (a handful of links), so the policy reads every article through. ``NOTE`` is a short
note (a few sentences quoting "verify you are human"): shaped like a wall, it is told apart only
by what its page type expects.

>>> [a.slug for a in ARTICLES][:2], len(ARTICLES), NOTE.slug in {a.slug for a in ARTICLES}
(['captchas-in-the-wild', 'reading-a-block-page'], 6, True)
>>> all(len(article_text(a)) > 3000 for a in ARTICLES if a is not NOTE), len(article_text(NOTE)) < 600
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aiohttp import web

from .captchas import captcha_png

HTML = {"Content-Type": "text/html; charset=utf-8"}

_PARAGRAPHS = (
    "Most people meet a captcha a few times a week: a box of warped letters, a grid of traffic "
    "lights, a puzzle piece to drag into a gap. The image below is one of ours, drawn the way "
    "the older text captchas were: four characters, each turned a little, over a noisy ground.",
    "When a site decides a visitor might be a bot it has three answers. It can let the request "
    "through and watch, it can show a challenge and ask the visitor to verify you are human, "
    "or it can refuse outright with a short page that says access denied and gives a reference "
    "number. Crawlers meet all three, and only the last two are walls.",
    "Cloudflare's interstitial is the best known wall. Its title is Just a moment..., its body "
    "says the site needs to review the security of your connection, and its script sets "
    "window._cf_chl_opt before loading the challenge from /cdn-cgi/challenge-platform/. A page "
    "that quotes those strings, like this one, is not the wall.",
    "Vendors differ in the details. PerimeterX asks you to press and hold a button inside a div "
    "with the id px-captcha; DataDome loads its challenge from captcha-delivery.com; Akamai's "
    "refusal is a few lines ending in Reference #18 and a dotted number; Geetest and Tencent "
    "draw sliders, and Chinese sites title the page 安全验证.",
    "The people who pay most for captchas are not bot operators, who buy answers by the "
    "thousand, but visitors with poor eyesight, tremors or a screen reader, and everyone on a "
    "shared address that once sent too many requests. An unusual traffic warning is a verdict "
    "about an address, not about a person.",
    "For a crawler the lesson is to read a page's shape rather than its words. A wall is short, "
    "has hardly a link and lacks what the page was supposed to hold. An article about walls is "
    "long, has a title and a body, and happens to mention every word a wall uses.",
    "Retrying a wall immediately makes it worse. Back off, lower the concurrency, honour "
    "Retry-After, and if the site offers an API or an export, use it. A login form or a "
    "password reset page deserves a challenge; an article page almost never does.",
    "Comment forms are where small blogs still use image captchas, because spam arrives there. "
    "The form at the bottom of this page has one, beside a text box for the answer. It guards "
    "the form, not the article, and a visitor who only reads never has to solve it.",
    "Logs tell walls apart from errors if you let them. A 429 with Retry-After is a request to "
    "slow down; a 403 with a vendor's reference is a refusal; a 200 whose body is a challenge "
    "is the hardest case, because only the body says what happened, and only to a reader who "
    "knows what the page should have held.",
    "Text captchas were broken by optical character recognition within a few years of their "
    "invention. The distortion was turned up until people failed as often as the programs, and "
    "then the industry moved on to pictures, then to sliders, then to scores nobody sees.",
    "A login page is not a wall either, though crawlers often treat it as one. Being sent to "
    "one after asking for an article usually means a session expired; asking for the login "
    "page itself is just asking for a page that happens to contain a password field.",
    "Chinese sites show their own family of walls: a 安全验证 title, a slider that asks you to "
    "drag a piece to the right, sometimes an image with four characters to type. The words are "
    "different, the shape is the same: a short page, a widget, and nothing you came for.",
)


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    published: str  # ISO 8601 date
    paragraphs: tuple[int, ...]  # indexes into the paragraph pool, in order
    images: int  # captcha images shown in the text

    @property
    def url(self) -> str:
        return f"/security/{self.slug}.html"


ARTICLES: tuple[Article, ...] = (
    Article("captchas-in-the-wild", "Captchas in the wild", "2024-01-09", (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 3),
    Article("reading-a-block-page", "Reading a block page", "2024-02-14", (1, 2, 8, 3, 5, 6, 0, 10, 7, 4, 11, 9), 2),
    Article("who-pays-for-captchas", "Who pays for captchas", "2024-03-21", (4, 9, 0, 5, 7, 1, 11, 6, 3, 8, 2, 10), 2),
    Article("walls-and-retries", "Walls and retries", "2024-04-30", (6, 8, 5, 1, 2, 10, 0, 3, 4, 11, 7, 9), 3),
    Article("slider-puzzles", "Slider puzzles, briefly", "2024-05-17", (3, 11, 7, 0, 9, 4, 2, 1, 10, 5, 8, 6), 2),
    Article("note-verify-loop", "Note: the verify loop was my clock", "2024-06-02", (), 0),
)  # fmt: skip
NOTE = ARTICLES[-1]
_NOTE_TEXT = (
    "Every site kept asking me to verify you are human, forever. The laptop clock was eleven "
    "minutes slow; fixing it ended the loop."
)
BY_SLUG = {a.slug: a for a in ARTICLES}


def _text_blocks(article: Article) -> list[str]:
    if article is NOTE:
        return [_NOTE_TEXT]
    return [_PARAGRAPHS[i] for i in article.paragraphs]


def article_text(article: Article) -> str:
    """The text of the article's ``div.entry-content`` (captions included), whitespace
    collapsed."""
    parts = []
    for index, paragraph in enumerate(_text_blocks(article)):
        parts.append(paragraph)
        if index < article.images:
            parts.append(f"Captcha example {index + 1}.")
    return " ".join(" ".join(parts).split())


def _image(article: Article, n: int) -> str:
    return (
        f'<figure><img src="/security/img/{article.slug}-{n}.png" class="captcha-example" '
        f'alt="A text captcha, example {n}" width="160" height="60">'
        f"<figcaption>Captcha example {n}.</figcaption></figure>\n"
    )


def _page(title: str, main: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} | Security Notes</title></head><body>\n"
        '<header><a href="/security/">Security Notes</a></header>\n'
        f"<main>\n{main}</main>\n"
        '<footer><a href="/security/">All articles</a></footer>\n</body></html>\n'
    ).encode()


def article_page(article: Article) -> bytes:
    body = []
    for index, paragraph in enumerate(_text_blocks(article)):
        body.append(f"<p>{escape(paragraph)}</p>\n")
        if index < article.images:
            body.append(_image(article, index + 1))
    comments = (
        '<form class="comment-form" method="post" action="/security/comment">'
        '<textarea name="comment"></textarea>'
        f'<img src="/security/img/{article.slug}-comment.png" alt="captcha" class="captcha">'
        '<input type="text" name="captcha_code" autocomplete="off">'
        '<button type="submit">Post comment</button></form>\n'
    )
    main = (
        f'<article><h1>{escape(article.title)}</h1>\n<time datetime="{article.published}">'
        f'{article.published}</time>\n<div class="entry-content">\n{"".join(body)}</div>\n'
        f"</article>\n{comments if article is not NOTE else ''}"
    )
    return _page(article.title, main)


def index_page() -> bytes:
    items = "".join(f'<li><a href="{a.url}">{escape(a.title)}</a></li>\n' for a in ARTICLES)
    return _page("Articles", f'<h1>Articles</h1>\n<ul class="posts">\n{items}</ul>\n')


async def security_index(request: web.Request) -> web.Response:
    return web.Response(body=index_page(), headers=HTML)


async def security_article(request: web.Request) -> web.Response:
    article = BY_SLUG.get(request.match_info["slug"])
    if article is None:
        raise web.HTTPNotFound()
    return web.Response(body=article_page(article), headers=HTML)


async def security_image(request: web.Request) -> web.Response:
    slug, _, n = request.match_info["name"].rpartition("-")
    if slug not in BY_SLUG:
        raise web.HTTPNotFound()
    return web.Response(body=captcha_png(f"{slug}:{n}"), content_type="image/png")


ROUTES: tuple[tuple[str, str, object], ...] = (
    ("GET", "/security/", security_index),
    ("GET", r"/security/{slug:[a-z0-9-]+}.html", security_article),
    ("GET", r"/security/img/{name:[a-z0-9-]+}.png", security_image),
)
