"""A captcha page, handed over by the ban middleware, solved and the request continued.

:class:`CaptchaSolving` does the site-independent part around a solver (``CAPTCHA_SOLVER``, a
name in ``CAPTCHA_SOLVERS``, built with ``build_from_crawler``): it finds the captcha image in
the page's form (``CAPTCHA_IMAGE_XPATH``), fetches it as the same client (proxy, user agent,
cookie jar), asks the solver for the text, submits the form with it (``CAPTCHA_INPUT``, else
the form's first text input) and judges the answer with the ban policy: still a captcha (or a
redirect to one) is a failure; a redirect elsewhere or a page is a success. Solved or not, the original request is tried again (with ``captcha/attempts``); after
``CAPTCHA_RETRY_TIMES`` attempts the captcha is a ban like any other (``antiban/bans/captcha``).

The page's captcha may be of another kind (:mod:`crawler.captcha.kinds`): a slider (a
background with a gap and a piece: the answer is the gap's offset and a drag track) or a
click-the-characters captcha (an image and a prompt: the answer is the points to click). Each
kind goes to the solver ``CAPTCHA_KIND_SOLVERS`` names for it, else to ``CAPTCHA_SOLVER``'s.

A solver that keeps failing (``CAPTCHA_MAX_FAILURES`` in a row) backs off: for
``CAPTCHA_BACKOFF`` seconds, doubled each time up to ``CAPTCHA_BACKOFF_MAX``, captchas are
skipped (handled as bans) instead of hammering the site. One captcha is solved at a time; a
request that met a captcha before another was solved is simply tried again.

Stats (the run record keeps them): ``captcha/seen``, ``captcha/solved``, ``captcha/failed``
(``/<reason>``), ``captcha/skipped`` (``/<reason>``), ``captcha/backoffs``,
``captcha/solved/<solver>``, ``captcha/seconds`` (time spent solving); per kind
``captcha/<kind>/seen``, ``captcha/<kind>/solved``, ``captcha/<kind>/failed``.

A solver is any class with ``name`` and ``async solve(image: bytes, *, url: str) -> str | None``
(None: it cannot answer this one); one that answers sliders and click captchas has
``async solve_challenge(challenge: Challenge) -> str | None`` too, its answer shaped as the
pending store's (``x`` for a slider, ``x1,y1;x2,y2;...`` for a click captcha).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from typing import Any
from urllib.parse import urlencode, urljoin

from lxml import html as lxml_html
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.captcha.click import prompt_targets
from crawler.captcha.kinds import (
    KINDS,
    BadAnswer,
    CaptchaPages,
    Challenge,
    answer_fields,
)

logger = logging.getLogger(__name__)

META_ATTEMPTS = "captcha_attempts"
META_SEEN_AT = "captcha_seen_at"
_TEXT_INPUTS = ("text", "search", "tel", "")


class SolveFailed(Exception):
    """The solver or the site refused this captcha; ``reason`` names why."""

    def __init__(self, reason: str, message: str = "", kind: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.kind = kind


def captcha_solving(crawler: Any, policy: Any) -> CaptchaSolving | None:
    """The captcha handling of a crawl, or None when ``CAPTCHA_SOLVER`` is empty."""
    name = crawler.settings.get("CAPTCHA_SOLVER")
    if not name:
        return None
    solvers = crawler.settings.getdict("CAPTCHA_SOLVERS")
    by_kind = crawler.settings.getdict("CAPTCHA_KIND_SOLVERS")
    unknown = sorted(set(by_kind) - set(KINDS))
    if unknown:
        raise ValueError(f"CAPTCHA_KIND_SOLVERS: {unknown[0]!r} is not one of {', '.join(KINDS)}")
    chosen_by = [("CAPTCHA_SOLVER", name)]
    chosen_by += [(f"CAPTCHA_KIND_SOLVERS[{k!r}]", v) for k, v in by_kind.items()]
    for setting, chosen in chosen_by:
        if chosen not in solvers:
            raise ValueError(f"{setting}: {chosen!r} is not one of {', '.join(solvers)}")
    built: dict[str, Any] = {}
    for chosen in {name, *by_kind.values()}:
        built[chosen] = build_from_crawler(load_object(solvers[chosen]), crawler)
    kinds = {kind: built[by_kind.get(kind, name)] for kind in KINDS}
    return CaptchaSolving(crawler, built[name], policy, kinds)


class CaptchaSolving:
    def __init__(
        self, crawler: Any, solver: Any, policy: Any, kinds: dict[str, Any] | None = None
    ) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.solver = solver
        self.solvers = {kind: solver for kind in KINDS} | (kinds or {})
        self.policy = policy
        self.pages = CaptchaPages.from_settings(s)
        self.retry_times = s.getint("CAPTCHA_RETRY_TIMES")
        self.max_failures = s.getint("CAPTCHA_MAX_FAILURES")
        self.backoff = s.getfloat("CAPTCHA_BACKOFF")
        self.backoff_max = s.getfloat("CAPTCHA_BACKOFF_MAX")
        self.failures = 0  # in a row
        self.backoffs = 0
        self.paused_until = 0.0
        self.solved_at = 0.0
        self.lock = asyncio.Lock()

    async def handle(self, request: Request, response: Response) -> Request | None:
        """The request to try again, or None: the captcha is a ban (skipped or out of attempts)."""
        seen_at = time.monotonic()
        attempts = request.meta.get(META_ATTEMPTS, 0)
        self.stats.inc_value("captcha/seen")
        if attempts >= self.retry_times:
            return self._skip("attempts", request)
        async with self.lock:  # one at a time: the next may find the site unlocked already
            if self.solved_at > seen_at:
                self.stats.inc_value("captcha/after_solve")
                return self._again(request, attempts)
            if time.monotonic() < self.paused_until:
                return self._skip("backoff", request)
            started = time.monotonic()
            try:
                kind, solver = await self._solve(request, response)
            except SolveFailed as exc:
                if exc.kind:
                    self.stats.inc_value(f"captcha/{exc.kind}/failed")
                self._failed(exc.reason, request, str(exc))
            else:
                self.failures = 0
                self.solved_at = time.monotonic()
                self.stats.inc_value("captcha/solved")
                self.stats.inc_value(f"captcha/solved/{solver.name}")
                self.stats.inc_value(f"captcha/{kind}/solved")
            finally:
                spent = round(time.monotonic() - started, 3)
                self.stats.inc_value("captcha/seconds", spent)
        return self._again(request, attempts)

    async def _solve(self, request: Request, response: Response) -> tuple[str, Any]:
        """Solve the page's captcha: its kind and the solver that answered it."""
        if not isinstance(response, TextResponse):
            raise SolveFailed("not_html")
        found = self.pages.find(lxml_html.fromstring(response.text, base_url=response.url))
        if found is None:
            raise SolveFailed("no_image", "no captcha image in a form")
        self.stats.inc_value(f"captcha/{found.kind}/seen")
        try:
            solver = await self._submit(request, response, found)
        except SolveFailed as exc:
            exc.kind = found.kind
            raise
        return found.kind, solver

    async def _submit(self, request: Request, response: Response, found: Any) -> Any:
        image = await self._image(request, response, found.image_url)
        piece = await self._image(request, response, found.piece_url) if found.piece_url else None
        targets = tuple(prompt_targets(found.prompt))
        challenge = Challenge(found.kind, response.url, image, piece, found.prompt, targets)
        solver = self.solvers[found.kind]
        try:
            if found.kind == "text":
                answer = await solver.solve(image, url=response.url)
            elif hasattr(solver, "solve_challenge"):
                answer = await solver.solve_challenge(challenge)
            else:
                raise SolveFailed("unsupported", f"{solver.name} does not answer {found.kind}s")
        except SolveFailed:
            raise
        except Exception as exc:  # a solver's own failure: counted, not fatal to the crawl
            raise SolveFailed("solver_error", f"{type(exc).__name__}: {exc}") from None
        if not answer:
            raise SolveFailed("no_answer")
        try:
            value, extra = answer_fields(found, challenge, answer)
        except BadAnswer as exc:
            raise SolveFailed("bad_answer", str(exc)) from None
        submit = form_request(response, found.form, value, found.input_name, extra)
        submit = self._as_client(request, submit)
        # A redirect answers a right answer (to the page, unless to another check): not
        # followed, so the page the site lets through next is the request's own.
        submit.meta["dont_redirect"] = True
        result = await self.crawler.engine.download_async(submit)
        verdict = self.policy.response_verdict(submit, result)
        if verdict is not None or result.status >= 400:
            why = verdict.reason if verdict is not None else f"status_{result.status}"
            raise SolveFailed("wrong" if why == "captcha" else why, f"answer refused ({why})")
        return solver

    async def _image(self, request: Request, response: Response, url: str) -> bytes:
        if url.startswith("data:"):
            return base64.b64decode(url.partition(",")[2])
        fetch = self._as_client(request, Request(urljoin(response.url, url)))
        result = await self.crawler.engine.download_async(fetch)
        if result.status != 200 or not result.body:
            raise SolveFailed("image", f"captcha image answered {result.status}")
        return result.body

    @staticmethod
    def _as_client(original: Request, request: Request) -> Request:
        """The same client as ``original``: its proxy, user agent and cookie jar, none of the
        middlewares choosing them again; never judged as a ban itself."""
        meta = {"dont_check_ban": True, "allow_offsite": True}
        for key in ("proxy", "cookiejar", "download_slot"):
            if original.meta.get(key) is not None:
                meta[key] = original.meta[key]
        agent = original.headers.get(b"User-Agent")
        if agent:
            request.headers[b"User-Agent"] = agent
        request.meta.update(meta)
        return request.replace(dont_filter=True)

    def _again(self, request: Request, attempts: int) -> Request:
        retry = request.replace(dont_filter=True)
        retry.meta[META_ATTEMPTS] = attempts + 1
        for key in ("redirect_urls", "redirect_reasons", "redirect_times", "redirect_ttl"):
            retry.meta.pop(key, None)
        return retry

    def _skip(self, reason: str, request: Request) -> None:
        self.stats.inc_value("captcha/skipped")
        self.stats.inc_value(f"captcha/skipped/{reason}")
        logger.debug("captcha on %s skipped (%s): handled as a ban", request.url, reason)
        return None

    def _failed(self, reason: str, request: Request, message: str) -> None:
        self.stats.inc_value("captcha/failed")
        self.stats.inc_value(f"captcha/failed/{reason}")
        self.failures += 1
        logger.info("captcha on %s not solved: %s", request.url, message)
        if self.failures >= self.max_failures:
            pause = min(self.backoff * 2**self.backoffs, self.backoff_max)
            self.backoffs += 1
            self.failures = 0
            self.paused_until = time.monotonic() + pause
            self.stats.inc_value("captcha/backoffs")
            logger.warning(
                "captcha solver %s failed %d times in a row: pausing it for %.0fs "
                "(captchas meanwhile are handled as bans)",
                self.solver.name,
                self.max_failures,
                pause,
            )


def form_request(
    response: TextResponse,
    form: Any,
    answer: str,
    input_name: str,
    extra: dict[str, str] | None = None,
) -> Request:
    """The form submitted as a browser would, with ``answer`` in the captcha's text input
    (``input_name``, else the first text input) and ``extra`` fields set (a slider's track)."""
    extra = extra or {}
    fields: list[tuple[str, str]] = []
    target = input_name
    for element in form.xpath(".//input[@name]|.//textarea[@name]|.//select[@name]"):
        kind = (element.get("type") or "").lower()
        if kind in ("submit", "button", "image", "reset", "file"):
            continue
        if kind in ("checkbox", "radio") and element.get("checked") is None:
            continue
        name = element.get("name")
        if not target and element.tag == "input" and kind in _TEXT_INPUTS:
            target = name
        value = answer if name == target else extra.get(name, element.get("value") or "")
        fields.append((name, value))
    named = {n for n, _ in fields}
    if target and target not in named:
        fields.append((target, answer))
    fields += [(n, v) for n, v in extra.items() if n not in named]
    action = urljoin(response.url, form.get("action") or response.url)
    method = (form.get("method") or "GET").upper()
    body = urlencode(fields)
    if method == "POST":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return Request(action, method="POST", body=body, headers=headers)
    return Request(f"{action.split('?')[0]}?{body}")
