"""A solver for captchas no model reads: it saves the image and waits for a person's answer.

The image goes to the pending store (``CAPTCHA_MANUAL_DIR``, :mod:`crawler.captcha.pending`);
``scrapy captcha list`` shows it, ``scrapy captcha answer ID TEXT`` answers it (the data
service answers through the same store). Sliders and click captchas go there too, with their
kind, their prompt and a slider's piece (``extra_images``); the answer is shaped by kind
(:mod:`crawler.captcha.pending`: ``x`` for a slider, ``x1,y1;x2,y2;...`` for a click). The crawl waits at most
``CAPTCHA_MANUAL_TIMEOUT`` seconds, polling every ``CAPTCHA_MANUAL_POLL``; no answer by then
fails the captcha (``captcha/failed/no_answer``). Other captchas wait their turn meanwhile.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from crawler.captcha.pending import CaptchaStore
from crawler.core.clock import sleep

logger = logging.getLogger(__name__)


class ManualSolver:
    name = "manual"

    def __init__(self, store: CaptchaStore, rule: str, timeout: float, poll: float) -> None:
        self.store = store
        self.rule = rule
        self.timeout = timeout
        self.poll = poll

    @classmethod
    def from_crawler(cls, crawler: Any) -> ManualSolver:
        s = crawler.settings
        rule = getattr(crawler.spidercls, "name", None) or "crawl"
        return cls(
            CaptchaStore(s.get("CAPTCHA_MANUAL_DIR")),
            rule,
            s.getfloat("CAPTCHA_MANUAL_TIMEOUT"),
            s.getfloat("CAPTCHA_MANUAL_POLL"),
        )

    async def solve(self, image: bytes, *, url: str) -> str | None:
        return await self._wait(self.store.add(image, url=url, rule=self.rule), url, "TEXT")

    async def solve_challenge(self, challenge: Any) -> str | None:
        extra = {"piece": challenge.piece} if challenge.piece is not None else None
        cid = self.store.add(
            challenge.image,
            url=challenge.url,
            rule=self.rule,
            kind=challenge.kind,
            prompt=challenge.prompt,
            extra_images=extra,
        )
        shape = "X" if challenge.kind == "slider" else "X1,Y1;X2,Y2;..."
        return await self._wait(cid, challenge.url, shape)

    async def _wait(self, cid: str, url: str, shape: str) -> str | None:
        logger.warning(
            "captcha %s waits for an answer (%s): scrapy captcha answer %s %s "
            "(image: %s; giving up in %.0fs)",
            cid,
            url,
            cid,
            shape,
            self.store.directory / f"{cid}.png",
            self.timeout,
        )
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                answer = self.store.answer_of(cid)
                if answer is not None:
                    return answer
                if time.monotonic() >= deadline:
                    return None
                await sleep(min(self.poll, max(0.0, deadline - time.monotonic())))
        finally:
            self.store.discard(cid)
