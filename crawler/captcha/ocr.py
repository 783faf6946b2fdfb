"""An OCR solver for image captchas: ddddocr's bundled model, run off the reactor thread.

The model ships inside the ddddocr wheel, so it works offline; it loads once per crawl (about
half a second) and reads a captcha in a few tens of milliseconds. Its answer goes as read;
whether it was right is for the site to say (:mod:`crawler.captcha.solving` judges it).
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

    @classmethod
    def from_crawler(cls, crawler: Any) -> OcrSolver:
        return cls(load_model())

    def read(self, image: bytes) -> str:
        return str(self.model.classification(image)).strip()

    async def solve(self, image: bytes, *, url: str) -> str | None:
        text = await maybe_deferred_to_future(threads.deferToThread(self.read, image))
        logger.debug("OCR read %r on %s", text, url)
        return text or None


def load_model() -> Any:
    import ddddocr

    return ddddocr.DdddOcr(show_ad=False)
