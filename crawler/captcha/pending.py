"""Pending captchas waiting for a person's answer: a directory both the crawl and
``scrapy captcha`` (and later the data service) use, so any process can answer.

Per captcha ``<id>.png`` (the image), ``<id>.json`` (page URL, rule, when, ``kind``,
``prompt`` and the names of its other images), ``<id>.<name>.png`` for each other image (a
slider's ``piece``) and, once answered, ``<id>.answer``. Ids are random hex; an answer is one
line of at most 100 characters, by kind (:data:`KINDS`):

- ``text``: the text the image shows;
- ``click``: the points to click, in the prompt's order, ``x1,y1;x2,y2;...`` (image pixels);
- ``slider``: ``x``, the gap's x offset in the background (pixels; the piece starts at 0).

>>> import tempfile
>>> store = CaptchaStore(tempfile.mkdtemp())
>>> cid = store.add(b"PNG", url="http://shop.example/p/1", rule="shop")
>>> [p.id for p in store.pending()] == [cid]
True
>>> store.answer(cid, " K7PX ")
>>> store.answer_of(cid), store.pending()
('K7PX', [])
>>> cid = store.add(b"PNG", url="http://shop.example/", rule="shop", kind="click",
...                 prompt="请依次点击：“山”“水”")
>>> store.answer(cid, "12,30;88,41")
>>> store.answer(cid, "12,30")
Traceback (most recent call last):
ValueError: a click answer is 2 points x,y;x,y in the prompt's order
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_ANSWER = 100  # characters of an answer
MAX_POINTS = 10  # points of a click answer
MAX_PROMPT = 500
KINDS = ("text", "slider", "click")
_ID = re.compile(r"^[0-9a-f]{16}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_COORD = r"(\d{1,5}(?:\.\d{1,3})?)"  # pixels of the image, from 0; a fraction allowed
_POINT = re.compile(rf"^{_COORD},{_COORD}$")
_OFFSET = re.compile(r"^\d{1,5}$")


@dataclass(frozen=True)
class PendingCaptcha:
    id: str
    url: str
    rule: str
    created: float
    image: Path
    kind: str = "text"
    prompt: str = ""
    extra_images: dict[str, Path] = field(default_factory=dict)


def answer_problem(
    kind: str, answer: str, prompt: str = "", size: tuple[int, int] | None = None
) -> str | None:
    """Why ``answer`` is no answer to a captcha of ``kind``, or None: the one check of the
    command line and the dashboard. A click answer has as many points as the prompt names
    characters (when it names them); with the image's ``size`` (width, height), points and
    offsets must fall inside it.

    >>> answer_problem("click", "10,20; 30,5", size=(100, 40)) is None
    True
    >>> answer_problem("click", "10,20;300,5", size=(100, 40))
    'point 2 (300,5) is outside the image (100×40)'
    >>> answer_problem("slider", "99", size=(100, 40)), answer_problem("slider", "100", size=(100, 40))
    (None, 'x must be from 0 to 99 (the image is 100 pixels wide)')
    """
    text = answer.strip()
    if not 1 <= len(text) <= MAX_ANSWER:
        return f"a {kind} answer is 1 to {MAX_ANSWER} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return f"a {kind} answer is one line without control characters"
    if kind == "click":
        return _click_problem(text, prompt, size)
    if kind == "slider":
        if not _OFFSET.match(text):
            return "a slider answer is the gap's x offset, one whole number of pixels, e.g. 131"
        if size is not None and int(text) >= size[0]:
            return f"x must be from 0 to {size[0] - 1} (the image is {size[0]} pixels wide)"
    return None


def _click_problem(text: str, prompt: str, size: tuple[int, int] | None) -> str | None:
    from crawler.captcha.click import prompt_targets

    points = [p.replace(" ", "") for p in text.split(";")]
    wanted = len(prompt_targets(prompt))
    if wanted and len(points) != wanted:
        return f"a click answer is {wanted} points x,y;x,y in the prompt's order"
    if not 1 <= len(points) <= MAX_POINTS:
        return f"a click answer is 1 to {MAX_POINTS} points x,y separated by ';'"
    for n, point in enumerate(points, 1):
        match = _POINT.match(point)
        if match is None:
            return f"point {n} ({point[:20]!r}) is not x,y in pixels of the image"
        x, y = float(match[1]), float(match[2])
        if size is not None and not (x < size[0] and y < size[1]):
            return f"point {n} ({x:g},{y:g}) is outside the image ({size[0]}×{size[1]})"
    return None


def normalised(kind: str, answer: str) -> str:
    """The answer as the solver reads it: ``x1,y1;x2,y2`` without spaces; ``x``; the text."""
    if kind == "click":
        return ";".join(p.replace(" ", "") for p in answer.split(";"))
    if kind == "slider":
        return str(int(answer.strip()))
    return answer.strip()


class CaptchaStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def add(
        self,
        image: bytes,
        *,
        url: str,
        rule: str,
        kind: str = "text",
        prompt: str = "",
        extra_images: dict[str, bytes] | None = None,
    ) -> str:
        """Save a captcha for a person; its id. ``extra_images``: other images by name (a
        slider's ``piece``)."""
        if kind not in KINDS:
            raise ValueError(f"a captcha kind is one of {', '.join(KINDS)}; got {kind!r}")
        extra = extra_images or {}
        if not all(_NAME.match(name) for name in extra):
            raise ValueError("an extra image's name is lowercase letters, digits and _")
        self.directory.mkdir(parents=True, exist_ok=True)
        cid = secrets.token_hex(8)
        (self.directory / f"{cid}.png").write_bytes(image)
        for name, data in extra.items():
            (self.directory / f"{cid}.{name}.png").write_bytes(data)
        record = {
            "url": url,
            "rule": rule,
            "created": time.time(),
            "kind": kind,
            "prompt": prompt[:MAX_PROMPT],
            "extra_images": sorted(extra),
        }
        (self.directory / f"{cid}.json").write_text(json.dumps(record), encoding="utf-8")
        return cid

    def pending(self) -> list[PendingCaptcha]:
        """Captchas without an answer, oldest first."""
        found = []
        for meta in self.directory.glob("*.json"):
            cid = meta.stem
            if not _ID.match(cid) or (self.directory / f"{cid}.answer").exists():
                continue
            try:
                record = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            found.append(self._pending(cid, record))
        return sorted(found, key=lambda p: p.created)

    def _pending(self, cid: str, record: dict) -> PendingCaptcha:
        extra = {
            name: self.directory / f"{cid}.{name}.png"
            for name in record.get("extra_images", ())
            if isinstance(name, str) and _NAME.match(name)
        }
        return PendingCaptcha(
            cid,
            record["url"],
            record["rule"],
            record["created"],
            self.directory / f"{cid}.png",
            kind=record.get("kind", "text"),
            prompt=record.get("prompt", ""),
            extra_images=extra,
        )

    def get(self, cid: str) -> PendingCaptcha | None:
        """The captcha ``cid`` (answered or not), or None."""
        if not _ID.match(cid):
            return None
        try:
            record = json.loads((self.directory / f"{cid}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return self._pending(cid, record)

    def answer(self, cid: str, text: str, size: tuple[int, int] | None = None) -> None:
        """Give the answer to captcha ``cid`` (checked by :func:`answer_problem`, against the
        image's ``size`` when known; kept :func:`normalised`); KeyError when no such captcha
        is pending, ValueError saying what is wrong with the answer."""
        captcha = self.get(cid)
        if captcha is None:
            raise KeyError(f"no pending captcha {cid!r}")
        problem = answer_problem(captcha.kind, text, captcha.prompt, size)
        if problem:
            raise ValueError(problem)
        text = normalised(captcha.kind, text)
        path = self.directory / f"{cid}.answer"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # whole answers only: the crawl may be reading

    def answer_of(self, cid: str) -> str | None:
        try:
            return (self.directory / f"{cid}.answer").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def discard(self, cid: str) -> None:
        captcha = self.get(cid)
        for path in captcha.extra_images.values() if captcha is not None else ():
            path.unlink(missing_ok=True)
        for suffix in (".png", ".answer", ".json"):
            (self.directory / f"{cid}{suffix}").unlink(missing_ok=True)
