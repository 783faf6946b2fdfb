"""Captchas met during a crawl: handed over by the ban middleware when the ban policy sees one
(``CAPTCHA_MARKERS``), solved, and the request continued.

- :mod:`.solving`: the flow around any solver: find the image, fetch it as the same client,
  submit the answer, judge it, count, back off
- :mod:`.ocr`: an OCR solver for image captchas (ddddocr; its model ships in its wheel)
- :mod:`.manual`: a solver that waits for a person's answer (``scrapy captcha``)
- :mod:`.pending`: the pending captchas a person answers, shared by the crawl and the command

The ban middleware (:mod:`crawler.antiban.ban_middleware`) hands captchas over through
:func:`captcha_solving`.
"""

from crawler.captcha.solving import captcha_solving

__all__ = ["captcha_solving"]
