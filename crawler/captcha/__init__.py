"""Captchas met during a crawl: handed over by the ban middleware when the ban policy sees one
(``CAPTCHA_MARKERS``), solved, and the request continued.

- :mod:`.solving`: the flow around any solver: find the captcha, fetch its images as the same
  client, ask the solver, submit the answer, judge it, count, back off
- :mod:`.kinds`: the kinds a page shows (text, slider, click) and the answer each form takes
- :mod:`.ocr`: the local solver (ddddocr's models ship in its wheel) for the three kinds, with
  :mod:`.slider` (the gap, a human-like drag) and :mod:`.click` (the prompt's characters found)
- :mod:`.service`: a solver asking a solving service (createTask / getTaskResult)
- :mod:`.manual`: a solver that waits for a person's answer (``scrapy captcha``, the dashboard)
- :mod:`.drag`: a slider solved in a rendered page, its handle dragged by the mouse (the render
  flow calls :func:`solve_slider_in_page` where :class:`SliderSelectors` finds one)
- :mod:`.pending`: the pending captchas a person answers, shared by the crawl, the command and
  the data service (exported here: :class:`CaptchaStore`, :class:`PendingCaptcha`,
  :func:`answer_problem`, :data:`KINDS`)

The ban middleware (:mod:`crawler.antiban.ban_middleware`) hands captchas over through
:func:`captcha_solving`.
"""

from crawler.captcha.drag import SliderSelectors, solve_slider_in_page
from crawler.captcha.pending import KINDS, CaptchaStore, PendingCaptcha, answer_problem
from crawler.captcha.solving import captcha_solving

__all__ = [
    "KINDS",
    "CaptchaStore",
    "PendingCaptcha",
    "SliderSelectors",
    "answer_problem",
    "captcha_solving",
    "solve_slider_in_page",
]
