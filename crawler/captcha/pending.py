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

MAX_ANSWER = 100
MAX_PROMPT = 500
KINDS = ("text", "slider", "click")
_ID = re.compile(r"^[0-9a-f]{16}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_NUMBER = r"-?[0-9]+(?:[.][0-9]+)?"
_POINT = re.compile(rf"^{_NUMBER},{_NUMBER}$")
_OFFSET = re.compile(rf"^{_NUMBER}$")


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


def answer_problem(kind: str, text: str, prompt: str = "") -> str | None:
    """Why ``text`` is no answer to a captcha of ``kind``, or None. A click answer has as many
    points as the prompt names characters (when it names them)."""
    if kind == "click":
        from crawler.captcha.click import prompt_targets

        points = text.split(";")
        wanted = len(prompt_targets(prompt)) or len(points)
        if len(points) != wanted or not all(_POINT.match(p.strip()) for p in points):
            return f"a click answer is {wanted} points x,y;x,y in the prompt's order"
    elif kind == "slider" and not _OFFSET.match(text):
        return "a slider answer is the gap's x offset in pixels, e.g. 131"
    return None


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

    def answer(self, cid: str, text: str) -> None:
        """Give the answer to captcha ``cid``; KeyError when no such captcha is pending."""
        text = text.strip()
        captcha = self.get(cid)
        if captcha is None:
            raise KeyError(f"no pending captcha {cid!r}")
        if not text or len(text) > MAX_ANSWER or "\n" in text:
            raise ValueError(f"an answer is one line of 1 to {MAX_ANSWER} characters")
        problem = answer_problem(captcha.kind, text, captcha.prompt)
        if problem:
            raise ValueError(problem)
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
