"""The local solver: ddddocr's bundled models, run off the reactor thread, for the three kinds.

- text: ddddocr's OCR model reads the image;
- slider: the gap's offset by edge matching (:func:`crawler.captcha.slider.gap_offset`);
- click: ddddocr's detection model and its OCR model locate the prompt's characters
  (:class:`crawler.captcha.click.CharacterLocator`, loaded on the first click captcha).

The models ship inside the ddddocr wheel, so it works offline; the OCR model loads once per
crawl (about half a second) and reads a captcha in a few tens of milliseconds. Its answer goes
as read; whether it was right is for the site to say (:mod:`crawler.captcha.solving` judges it).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

logger = logging.getLogger(__name__)


class OcrSolver:
    name = "ocr"

    def __init__(self, model: Any) -> None:
        self.model = model
        self.locator: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> OcrSolver:
        return cls(load_model())

    def read(self, image: bytes) -> str:
        return str(self.model.classification(image)).strip()

    async def solve(self, image: bytes, *, url: str) -> str | None:
        text = await maybe_deferred_to_future(threads.deferToThread(self.read, image))
        logger.debug("OCR read %r on %s", text, url)
        return text or None

    def answer(self, challenge: Any) -> str | None:
        """The answer to a slider or click captcha, in the pending store's shape."""
        from crawler.captcha.click import CharacterLocator, clicks_answer
        from crawler.captcha.slider import gap_offset

        if challenge.kind == "slider":
            if challenge.piece is None:
                return None
            return str(gap_offset(challenge.image, challenge.piece))
        if challenge.kind == "click":
            if self.locator is None:
                self.locator = CharacterLocator()
            points = self.locator.locate(challenge.image, list(challenge.targets))
            return clicks_answer(points) if points else None
        return self.read(challenge.image)

    async def solve_challenge(self, challenge: Any) -> str | None:
        answer = await maybe_deferred_to_future(threads.deferToThread(self.answer, challenge))
        logger.debug("%s captcha answered %r on %s", challenge.kind, answer, challenge.url)
        return answer or None


def load_model() -> Any:
    import ddddocr

    return ddddocr.DdddOcr(show_ad=False)
