"""A solver that asks a captcha-solving service: the ``createTask`` / ``getTaskResult`` JSON API
that anti-captcha, 2captcha (its v2 API), YesCaptcha, CapSolver and others share.

``POST <CAPTCHA_SERVICE_URL>/createTask`` with ``{"clientKey", "task": {"type", "body"
(base64), ...}}`` answers ``{"errorId": 0, "taskId"}``; ``POST .../getTaskResult`` with
``{"clientKey", "taskId"}`` answers ``{"status": "processing"}`` until ``{"status": "ready",
"solution": {...}}``. The task type per kind is ``CAPTCHA_SERVICE_TASK_TYPES``: an
``ImageToTextTask`` gives ``solution.text``; a ``CoordinatesTask`` gives
``solution.coordinates`` (the points to click, with the prompt as its ``comment``; for a slider,
the gap's left edge, the piece in ``imgInstructions``).

Each failure is one :class:`ServiceError` with its reason (counted as ``captcha/failed/<reason>``):
``service_key`` (the service refused the key), ``service_error`` (another error the service
named), ``service_unreachable`` (no connection, an HTTP error), ``service_timeout`` (no answer
within ``CAPTCHA_SERVICE_TIMEOUT``), ``service_too_large`` (a reply over
``CAPTCHA_SERVICE_MAX_BYTES``, or an answer over 100 characters), ``service_bad_reply`` (not the
API's shape). The key (``CAPTCHA_SERVICE_API_KEY``, else the environment variable
``CAPTCHA_SERVICE_API_KEY_ENV`` names) is sent in request bodies only, and masked in any message.
Calls are blocking (urllib, direct: no proxy of the environment) and run off the reactor thread.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

from crawler.captcha.click import clicks_answer
from crawler.captcha.pending import MAX_ANSWER
from crawler.captcha.solving import SolveFailed

logger = logging.getLogger(__name__)

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy from the env
KEY_ERRORS = {"ERROR_KEY_DOES_NOT_EXIST", "ERROR_WRONG_USER_KEY", "ERROR_KEY_DENIED_ACCESS"}


class ServiceError(SolveFailed):
    """The service did not answer; ``reason`` says how."""


class ServiceClient:
    """The API's two calls and the polling between them, blocking."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        task_types: dict[str, str],
        timeout: float = 120.0,
        poll: float = 3.0,
        request_timeout: float = 20.0,
        max_bytes: int = 65536,
    ) -> None:
        if not url:
            raise ValueError("CAPTCHA_SERVICE_URL is not set")
        if not key:
            raise ValueError("no key for the captcha service (CAPTCHA_SERVICE_API_KEY)")
        self.url = url.rstrip("/")
        self._key = key
        self.task_types = task_types
        self.timeout = timeout
        self.poll = poll
        self.request_timeout = request_timeout
        self.max_bytes = max_bytes

    def __repr__(self) -> str:  # never the key
        return f"ServiceClient({self.url!r})"

    def _masked(self, text: str) -> str:
        return text.replace(self._key, "***")

    def call(self, method: str, payload: dict[str, Any], deadline: float) -> dict[str, Any]:
        body = json.dumps({"clientKey": self._key, **payload}).encode()
        request = urllib.request.Request(
            f"{self.url}/{method}",
            data=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        timeout = max(0.05, min(self.request_timeout, deadline - time.monotonic()))
        try:
            with _DIRECT.open(request, timeout=timeout) as answer:
                data = answer.read(self.max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise ServiceError("service_unreachable", f"{method}: HTTP {exc.code}") from None
        except TimeoutError:
            raise ServiceError("service_timeout", f"{method}: no reply in {timeout:.1f}s") from None
        except (urllib.error.URLError, OSError) as exc:
            why = self._masked(str(getattr(exc, "reason", exc)))
            if "timed out" in why:
                raise ServiceError("service_timeout", f"{method}: {why}") from None
            raise ServiceError("service_unreachable", f"{method}: {why}") from None
        if len(data) > self.max_bytes:
            raise ServiceError("service_too_large", f"{method}: over {self.max_bytes} bytes")
        try:
            reply = json.loads(data)
        except ValueError:
            raise ServiceError("service_bad_reply", f"{method}: not JSON") from None
        if not isinstance(reply, dict):
            raise ServiceError("service_bad_reply", f"{method}: not a JSON object")
        if reply.get("errorId"):
            code = str(reply.get("errorCode") or "ERROR")[:80]
            text = self._masked(str(reply.get("errorDescription") or ""))[:200]
            reason = "service_key" if code in KEY_ERRORS else "service_error"
            raise ServiceError(reason, self._masked(f"{method}: {code} {text}".strip()))
        return reply

    def solution(self, task: dict[str, Any]) -> dict[str, Any]:
        """The solution of ``task``: created, then polled until ready or the timeout."""
        deadline = time.monotonic() + self.timeout
        created = self.call("createTask", {"task": task}, deadline)
        task_id = created.get("taskId")
        if task_id is None:
            raise ServiceError("service_bad_reply", "createTask: no taskId")
        while True:
            pause = min(self.poll, deadline - time.monotonic())
            if pause <= 0:
                raise ServiceError("service_timeout", f"no answer in {self.timeout:.0f}s")
            time.sleep(pause)
            result = self.call("getTaskResult", {"taskId": task_id}, deadline)
            if result.get("status") == "ready":
                solution = result.get("solution")
                if not isinstance(solution, dict):
                    raise ServiceError("service_bad_reply", "getTaskResult: no solution")
                return solution
            if result.get("status") not in (None, "processing", "idle"):
                raise ServiceError("service_bad_reply", "getTaskResult: unknown status")

    def task(self, challenge: Any) -> dict[str, Any]:
        kind = challenge.kind
        task_type = self.task_types.get(kind)
        if not task_type:
            raise ServiceError("unsupported", f"no CAPTCHA_SERVICE_TASK_TYPES entry for {kind}")
        task: dict[str, Any] = {"type": task_type, "body": _b64(challenge.image)}
        if kind == "click":
            task["comment"] = challenge.prompt or "click the characters in order"
        elif kind == "slider":
            task["comment"] = "click the left edge of the gap the piece fits in"
            if challenge.piece is not None:
                task["imgInstructions"] = _b64(challenge.piece)
        return task

    def answer(self, challenge: Any) -> str:
        """The answer in the pending store's shape (text, ``x``, ``x1,y1;...``)."""
        solution = self.solution(self.task(challenge))
        if "coordinates" in solution:
            points = [_point(p) for p in solution["coordinates"] or ()]
            if not points:
                raise ServiceError("service_bad_reply", "no coordinates")
            text = str(round(points[0][0])) if challenge.kind == "slider" else clicks_answer(points)
        elif "text" in solution:
            text = str(solution["text"]).strip()
        else:
            raise ServiceError("service_bad_reply", "a solution without text or coordinates")
        if len(text) > MAX_ANSWER or "\n" in text:
            raise ServiceError("service_too_large", f"an answer over {MAX_ANSWER} characters")
        return text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _point(value: Any) -> tuple[float, float]:
    try:
        if isinstance(value, dict):
            return float(value["x"]), float(value["y"])
        x, y = value
        return float(x), float(y)
    except (KeyError, TypeError, ValueError):
        raise ServiceError("service_bad_reply", "a coordinate is not {x, y}") from None


class ServiceSolver:
    """The solver of ``CAPTCHA_SOLVER = "service"``: every kind through :class:`ServiceClient`."""

    name = "service"

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    @classmethod
    def from_crawler(cls, crawler: Any) -> ServiceSolver:
        s = crawler.settings
        key = s.get("CAPTCHA_SERVICE_API_KEY") or os.environ.get(
            s.get("CAPTCHA_SERVICE_API_KEY_ENV") or "", ""
        )
        client = ServiceClient(
            s.get("CAPTCHA_SERVICE_URL"),
            key,
            task_types=s.getdict("CAPTCHA_SERVICE_TASK_TYPES"),
            timeout=s.getfloat("CAPTCHA_SERVICE_TIMEOUT"),
            poll=s.getfloat("CAPTCHA_SERVICE_POLL"),
            request_timeout=s.getfloat("CAPTCHA_SERVICE_REQUEST_TIMEOUT"),
            max_bytes=s.getint("CAPTCHA_SERVICE_MAX_BYTES"),
        )
        return cls(client)

    async def solve(self, image: bytes, *, url: str) -> str | None:
        from crawler.captcha.kinds import Challenge

        return await self.solve_challenge(Challenge("text", url, image))

    async def solve_challenge(self, challenge: Any) -> str | None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import threads

        answer = await maybe_deferred_to_future(
            threads.deferToThread(self.client.answer, challenge)
        )
        logger.debug(
            "the captcha service answered a %s captcha on %s", challenge.kind, challenge.url
        )
        return answer or None
