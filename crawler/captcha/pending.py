"""Pending captchas waiting for a person's answer: a directory both the crawl and
``scrapy captcha`` (and later the data service) use, so any process can answer.

Per captcha ``<id>.png`` (the image), ``<id>.json`` (page URL, rule, when) and, once answered,
``<id>.answer``. Ids are random hex; an answer is one line of at most 100 characters.

>>> import tempfile
>>> store = CaptchaStore(tempfile.mkdtemp())
>>> cid = store.add(b"PNG", url="http://shop.example/p/1", rule="shop")
>>> [p.id for p in store.pending()] == [cid]
True
>>> store.answer(cid, " K7PX ")
>>> store.answer_of(cid), store.pending()
('K7PX', [])
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

MAX_ANSWER = 100
_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class PendingCaptcha:
    id: str
    url: str
    rule: str
    created: float
    image: Path


class CaptchaStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def add(self, image: bytes, *, url: str, rule: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        cid = secrets.token_hex(8)
        (self.directory / f"{cid}.png").write_bytes(image)
        record = {"url": url, "rule": rule, "created": time.time()}
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
            image = self.directory / f"{cid}.png"
            found.append(
                PendingCaptcha(cid, record["url"], record["rule"], record["created"], image)
            )
        return sorted(found, key=lambda p: p.created)

    def answer(self, cid: str, text: str) -> None:
        """Give the answer to captcha ``cid``; KeyError when no such captcha is pending."""
        text = text.strip()
        if not _ID.match(cid) or not (self.directory / f"{cid}.json").exists():
            raise KeyError(f"no pending captcha {cid!r}")
        if not text or len(text) > MAX_ANSWER or "\n" in text:
            raise ValueError(f"an answer is one line of 1 to {MAX_ANSWER} characters")
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
        for suffix in (".png", ".json", ".answer"):
            (self.directory / f"{cid}{suffix}").unlink(missing_ok=True)
