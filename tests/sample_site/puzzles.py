"""The sample site's slider and click-the-characters captchas, and the catalogue sections they
guard. Every puzzle is made from its token alone (seeded, drawn with Pillow), so a test can ask
for the answer of any token and the site checks an answer without keeping the picture.

- **slider**: a textured background with a jigsaw-shaped gap at ``slider_gap(token)`` and
  the piece (RGBA, the gap's shape; ``slider_images`` gives both PNGs) that starts at
  x = 0, same y. Accepted when the submitted ``x`` is within 4 px of the gap and the drag
  ``track`` (JSON ``[[x, t_ms], ...]``) looks human (:func:`human_track_problem`).
- **click**: 4 to 6 Chinese characters turned, coloured and scattered over a noisy background
  (``click_image``, ``click_chars`` gives their boxes); the page's prompt names 3 of them in
  order (``click_targets``). Accepted when the ``clicks`` (``x,y;x,y;x,y``) fall in their
  boxes, in order.

URLs, per kind (``slider``, ``click``): ``/puzzle/<kind>/`` lists ``ITEMS`` items
(``ul.items a``), ``/puzzle/<kind>/item/<n>.html`` is one (``h1.name``, ``span.price``). A
client without a pass gets the gate page instead (status 200, a form holding the captcha's
images); a right answer posted to ``/puzzle/<kind>/verify`` sets a cookie worth
``PASS_PAGES`` pages and redirects (303) to the page asked for; a wrong one gets a new gate.
``STATS`` counts gates, solved and failed per kind (all sites of the process). In a browser the
slider's handle drags the piece (``SLIDER_SCRIPT`` records the track and posts the form).

>>> human_track_problem([(x * 10, x * 50) for x in range(20)], 190)
'constant speed'
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import random
import secrets
import threading
from collections import Counter
from functools import lru_cache
from html import escape

from aiohttp import web

SLIDER_SIZE = (300, 160)
BODY = 44  # the piece's square body; a knob of radius KNOB on its top and right sides
KNOB = 8
PIECE_SIZE = (BODY + KNOB, BODY + KNOB)
CLICK_SIZE = (320, 200)
CHARS = (
    "天地山水花鸟鱼虫日月星云风雨雪电春夏秋冬东南西北大小多少左右上下中人口手足耳目心火土木金石田禾"
)
TOLERANCE = 4
ITEMS = 8
PASS_PAGES = 4
STATS: Counter = Counter()
_KEY = secrets.token_bytes(16)
_LOCK = threading.Lock()
_ISSUED: dict[str, str] = {}  # token -> kind, until answered
_PASSES: dict[str, int] = {}  # cookie -> pages left


# --- slider -------------------------------------------------------------------------------


def slider_gap(token: str) -> tuple[int, int]:
    """The gap's top-left corner (the piece's box) in the background."""
    rng = random.Random(f"slider-gap:{token}")
    return rng.randint(70, SLIDER_SIZE[0] - PIECE_SIZE[0] - 8), rng.randint(
        6, SLIDER_SIZE[1] - PIECE_SIZE[1] - 6
    )


@lru_cache(maxsize=1)
def _piece_mask():  # noqa: ANN202
    from PIL import Image, ImageDraw

    mask = Image.new("L", PIECE_SIZE, 0)
    draw = ImageDraw.Draw(mask)
    top = KNOB
    draw.rectangle((0, top, BODY - 1, top + BODY - 1), fill=255)
    cx = BODY // 2
    draw.ellipse((cx - KNOB, top - KNOB, cx + KNOB, top + KNOB), fill=255)  # knob on top
    cy = top + BODY // 2
    draw.ellipse((BODY - KNOB, cy - KNOB, BODY + KNOB - 1, cy + KNOB), fill=255)  # on the right
    return mask


def _texture(rng: random.Random, size: tuple[int, int], shapes: int, light: bool = False):  # noqa: ANN202
    """A busy picture: blotches of colour, blurred, with grain over them."""
    from PIL import Image, ImageDraw, ImageFilter

    low, high = (150, 245) if light else (30, 230)
    image = Image.new("RGB", size, tuple(rng.randint(low, high) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(shapes):
        x, y = rng.randint(-20, w), rng.randint(-20, h)
        r = rng.randint(6, 40)
        fill = tuple(rng.randint(low, high) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        else:
            draw.polygon([(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(4)], fill)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.5)))
    grain = Image.effect_noise(size, rng.randint(18, 30)).convert("RGB")
    return Image.blend(image, grain, 0.18)


def _png(image) -> bytes:  # noqa: ANN001
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@lru_cache(maxsize=64)
def slider_images(token: str) -> tuple[bytes, bytes]:
    from PIL import Image, ImageChops, ImageFilter

    rng = random.Random(f"slider-image:{token}")
    scene = _texture(rng, SLIDER_SIZE, 60)
    x, y = slider_gap(token)
    mask = _piece_mask()
    box = (x, y, x + PIECE_SIZE[0], y + PIECE_SIZE[1])
    piece = scene.crop(box).convert("RGBA")
    piece.putalpha(mask)
    outline = ImageChops.subtract(mask.filter(ImageFilter.MaxFilter(3)), mask)
    piece_lit = Image.new("RGBA", PIECE_SIZE, (255, 255, 255, 230))
    piece.paste(piece_lit, (0, 0), mask.filter(ImageFilter.FIND_EDGES))
    background = scene.copy()
    shade = Image.new("RGB", PIECE_SIZE, (0, 0, 0))
    hole = Image.blend(scene.crop(box), shade, 0.55)
    background.paste(hole, box[:2], mask)
    background.paste((235, 235, 235), box, outline)
    return _png(background), _png(piece)


def human_track_problem(track: list, x: float) -> str | None:
    """Why a drag track does not look like a person's, or None: at least 10 points ``(x, t)``,
    time never going back, 300 to 5000 ms in all, ending at ``x``, mostly forward, and not at
    one speed."""
    if not isinstance(track, list) or len(track) < 10 or len(track) > 1000:
        return "points"
    try:
        xs = [float(p[0]) for p in track]
        ts = [float(p[1]) for p in track]
    except (TypeError, ValueError, IndexError):
        return "shape"
    if any(b < a for a, b in zip(ts, ts[1:], strict=False)):
        return "time goes back"
    if not 300 <= ts[-1] - ts[0] <= 5000:
        return "duration"
    if abs(xs[-1] - x) > 2:
        return "end"
    back = sum(max(0.0, a - b) for a, b in zip(xs, xs[1:], strict=False))
    if back > 0.2 * max(xs[-1] - xs[0], 1.0) + 3:
        return "not monotonic"
    speeds = [
        (b - a) / (tb - ta) for a, b, ta, tb in zip(xs, xs[1:], ts, ts[1:], strict=False) if tb > ta
    ]
    mean = sum(speeds) / len(speeds) if speeds else 0.0
    spread = math.sqrt(sum((s - mean) ** 2 for s in speeds) / len(speeds)) if speeds else 0.0
    if not speeds or spread <= 0.15 * abs(mean):
        return "constant speed"
    return None


# --- click the characters -------------------------------------------------------------------


@lru_cache(maxsize=4)
def cjk_font(size: int):  # noqa: ANN201
    from pathlib import Path

    from PIL import ImageFont

    found = sorted(Path("/usr/share/fonts").rglob("NotoSansCJK-Bold.ttc"))
    if not found:
        raise RuntimeError("no Noto Sans CJK under /usr/share/fonts (fonts-noto-cjk)")
    return ImageFont.truetype(str(found[0]), size, index=2)  # index 2: the SC face


def _click_layout(token: str) -> list[tuple[str, tuple[int, int, int, int], float, tuple]]:
    rng = random.Random(f"click:{token}")
    chars = rng.sample(CHARS, rng.randint(4, 6))
    placed: list = []
    for char in chars:
        for _ in range(200):
            size = rng.randint(38, 44)
            x = rng.randint(4, CLICK_SIZE[0] - size - 8)
            y = rng.randint(4, CLICK_SIZE[1] - size - 8)
            box = (x, y, x + size + 4, y + size + 4)
            if all(box[2] + 4 < b[0] or b[2] + 4 < box[0] or box[3] + 4 < b[1] or b[3] + 4 < box[1]
                   for _, b, _, _ in placed):  # fmt: skip
                break
        colour = (rng.randint(0, 120), rng.randint(0, 120), rng.randint(0, 160))
        placed.append((char, box, rng.uniform(-30, 30), colour))
    return placed


def click_chars(token: str) -> dict[str, tuple[int, int, int, int]]:
    """Each character of the picture and its box (left, top, right, bottom)."""
    return {char: box for char, box, _, _ in _click_layout(token)}


def click_targets(token: str) -> list[str]:
    """The three characters the prompt asks for, in order."""
    rng = random.Random(f"click-targets:{token}")
    return rng.sample(list(click_chars(token)), 3)


def click_prompt(token: str) -> str:
    return "请依次点击：" + "".join(f"“{c}”" for c in click_targets(token))


@lru_cache(maxsize=64)
def click_image(token: str) -> bytes:
    from PIL import Image, ImageDraw

    rng = random.Random(f"click-image:{token}")
    image = _texture(rng, CLICK_SIZE, 50, light=True)
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        points = [(rng.randrange(CLICK_SIZE[0]), rng.randrange(CLICK_SIZE[1])) for _ in range(2)]
        draw.line(points, fill=tuple(rng.randint(90, 200) for _ in range(3)), width=2)
    for char, box, angle, colour in _click_layout(token):
        side = box[2] - box[0]
        glyph = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text(
            (side / 2, side / 2), char, font=cjk_font(side - 6), fill=(*colour, 255), anchor="mm"
        )
        glyph = glyph.rotate(angle, resample=Image.BICUBIC)
        image.paste(glyph, box[:2], glyph)
    return _png(image)


def issued_token(kind: str, image: bytes) -> str | None:
    """The token of a puzzle the site showed whose image is ``image`` (a fake solver's cheat)."""
    with _LOCK:
        tokens = [t for t, k in _ISSUED.items() if k == kind]

    def draw(t: str) -> bytes:
        return click_image(t) if kind == "click" else slider_images(t)[0]

    return next((t for t in tokens if draw(t) == image), None)


def click_problem(token: str, clicks: str) -> str | None:
    """Why ``clicks`` (``x,y;x,y;x,y``) do not answer the puzzle, or None."""
    try:
        points = [tuple(float(v) for v in part.split(",")) for part in clicks.split(";")]
    except ValueError:
        return "shape"
    targets = click_targets(token)
    if len(points) != len(targets) or any(len(p) != 2 for p in points):
        return "count"
    boxes = click_chars(token)
    for (x, y), char in zip(points, targets, strict=True):
        left, top, right, bottom = boxes[char]
        if not (left - 2 <= x <= right + 2 and top - 2 <= y <= bottom + 2):
            return f"missed {char}"
    return None


# --- the gate and the sections ----------------------------------------------------------------

GATE = (
    "<!DOCTYPE html><html><head><title>Security check</title></head><body>"
    "<h1>Security check</h1>"
    '<form method="post" action="/puzzle/{kind}/verify" class="captcha-{kind}">{inner}'
    '<input type="hidden" name="token" value="{token}">'
    '<input type="hidden" name="next" value="{next}">'
    '<button type="submit">Verify</button></form></body></html>'
)
# In a browser: dragging the handle moves the piece, records the track and posts the form.
SLIDER_SCRIPT = """(function(){var h=document.querySelector('.captcha-slider-handle'),
p=document.querySelector('.captcha-piece'),f=h.closest('form'),s=null,t0=0,tr=[];
h.addEventListener('mousedown',function(e){s=e.clientX;t0=performance.now();tr=[[0,0]];});
document.addEventListener('mousemove',function(e){if(s===null)return;var x=Math.max(0,e.clientX-s);
p.style.left=x+'px';tr.push([Math.round(x),Math.round(performance.now()-t0)]);});
document.addEventListener('mouseup',function(e){if(s===null)return;s=null;var x=tr[tr.length-1][0];
f.elements['x'].value=x;f.elements['track'].value=JSON.stringify(tr);f.submit();});})();"""
SLIDER_INNER = (
    '<div class="captcha-slider-box" style="position:relative;width:{w}px;height:{h}px">'
    '<img class="captcha-bg" src="/puzzle/slider/bg/{token}.png" alt="captcha background">'
    '<img class="captcha-piece" src="/puzzle/slider/piece/{token}.png" alt="captcha piece" '
    'style="position:absolute;left:0;top:{y}px"></div>'
    '<p class="captcha-prompt">Drag the piece into the gap</p>'
    '<div class="captcha-slider-handle" style="width:40px;height:28px;background:#bbb"></div>'
    '<input type="hidden" name="x" value=""><input type="hidden" name="track" value="">'
)
CLICK_INNER = (
    '<p class="captcha-prompt">{prompt}</p>'
    '<img class="captcha-click" src="/puzzle/click/image/{token}.png" alt="captcha">'
    '<input type="hidden" name="clicks" value="">'
)


def gate_page(kind: str, next_path: str) -> web.Response:
    token = secrets.token_hex(6)
    with _LOCK:
        _ISSUED[token] = kind
        STATS[f"{kind}/gates"] += 1
    if kind == "slider":
        inner = SLIDER_INNER.format(
            token=token, y=slider_gap(token)[1], w=SLIDER_SIZE[0], h=SLIDER_SIZE[1]
        )
        inner += f"<script>{SLIDER_SCRIPT}</script>"
    else:
        inner = CLICK_INNER.format(token=token, prompt=escape(click_prompt(token)))
    body = GATE.format(kind=kind, inner=inner, token=token, next=escape(next_path, quote=True))
    return web.Response(text=body, content_type="text/html")


def _pass(request: web.Request, kind: str) -> bool:
    """Whether the client holds a pass with pages left (and use one)."""
    value = request.cookies.get(f"puzzle_{kind}", "")
    token, _, signature = value.partition(".")
    expected = hmac.new(_KEY, f"{kind}:{token}".encode(), hashlib.sha256).hexdigest()[:20]
    if not token or not hmac.compare_digest(signature, expected):
        return False
    with _LOCK:
        left = _PASSES.get(value, 0)
        if left <= 0:
            return False
        _PASSES[value] = left - 1
    return True


def _page(title: str, body: str) -> web.Response:
    html = f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
    return web.Response(text=html, content_type="text/html")


def item_name(kind: str, n: int) -> str:
    return f"{kind.title()} puzzle item {n}"


async def section_list(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if not _pass(request, kind):
        return gate_page(kind, request.path_qs)
    links = "".join(
        f'<li><a href="/puzzle/{kind}/item/{n}.html">{item_name(kind, n)}</a></li>'
        for n in range(1, ITEMS + 1)
    )
    return _page(f"{kind} items", f'<h1>{kind} items</h1><ul class="items">{links}</ul>')


async def section_item(request: web.Request) -> web.Response:
    kind, n = request.match_info["kind"], int(request.match_info["n"])
    if not 1 <= n <= ITEMS:
        raise web.HTTPNotFound()
    if not _pass(request, kind):
        return gate_page(kind, request.path_qs)
    body = (
        f'<h1 class="name">{item_name(kind, n)}</h1>'
        f'<p>Price: <span class="price">{random.Random(n).randint(100, 9999) / 100:.2f}</span></p>'
        f'<a href="/puzzle/{kind}/">all {kind} items</a>'
    )
    return _page(item_name(kind, n), body)


async def puzzle_image(request: web.Request) -> web.Response:
    kind, part, token = (request.match_info[k] for k in ("kind", "part", "token"))
    with _LOCK:
        issued = _ISSUED.get(token) == kind
    if not issued or (kind == "click") != (part == "image"):
        raise web.HTTPNotFound()
    body = click_image(token) if kind == "click" else slider_images(token)[part == "piece"]
    return web.Response(body=body, content_type="image/png")


async def verify(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    form = await request.post()
    token = str(form.get("token", ""))
    next_path = str(form.get("next", "/"))
    if not next_path.startswith(f"/puzzle/{kind}/"):
        next_path = f"/puzzle/{kind}/"
    with _LOCK:
        issued = _ISSUED.pop(token, None) == kind  # one answer per puzzle
    problem = "unknown token" if not issued else _problem(kind, token, form)
    if problem is not None:
        STATS[f"{kind}/failed"] += 1
        STATS[f"{kind}/failed/{problem}"] += 1
        return gate_page(kind, next_path)
    STATS[f"{kind}/solved"] += 1
    signature = hmac.new(_KEY, f"{kind}:{token}".encode(), hashlib.sha256).hexdigest()[:20]
    value = f"{token}.{signature}"
    with _LOCK:
        _PASSES[value] = PASS_PAGES
    answer = web.HTTPSeeOther(next_path)
    answer.set_cookie(f"puzzle_{kind}", value, path=f"/puzzle/{kind}/", httponly=True)
    raise answer


def _problem(kind: str, token: str, form: object) -> str | None:
    if kind == "click":
        return click_problem(token, str(form.get("clicks", "")))  # type: ignore[attr-defined]
    try:
        x = float(form.get("x", ""))  # type: ignore[attr-defined]
        track = json.loads(str(form.get("track", "")))  # type: ignore[attr-defined]
    except ValueError:
        return "shape"
    if abs(x - slider_gap(token)[0]) > TOLERANCE:
        return "gap"
    return human_track_problem(track, x)


ROUTES: tuple[tuple[str, str, object], ...] = (
    ("GET", "/puzzle/{kind:slider|click}/", section_list),
    ("GET", r"/puzzle/{kind:slider|click}/item/{n:\d+}.html", section_item),
    (
        "GET",
        r"/puzzle/{kind:slider|click}/{part:bg|piece|image}/{token:[0-9a-f]+}.png",
        puzzle_image,
    ),
    ("POST", "/puzzle/{kind:slider|click}/verify", verify),
)
