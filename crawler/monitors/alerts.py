"""Alert channel types: a generic JSON webhook and WeCom, DingTalk and Feishu group robots, in
their documented webhook message formats (email: :mod:`.email`). The alert desk
(:mod:`.desk`) decides what is sent where; each type only delivers ``(event, title, lines)``.

- WeCom (企业微信群机器人): ``{"msgtype": "markdown", "markdown": {"content": ...}}``; the URL
  carries the robot's ``key``; an answer ``errcode`` other than 0 is a failure.
- DingTalk (钉钉自定义机器人): ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; signed
  mode appends ``timestamp`` (ms) and ``sign`` = URL-encoded base64 of HMAC-SHA256, keyed with
  the secret, of ``"{timestamp}\\n{secret}"``; ``errcode`` other than 0 is a failure.
- Feishu (飞书自定义机器人): ``{"msg_type": "text", "content": {"text": ...}}``, with
  ``timestamp`` (s) and ``sign`` = base64 of HMAC-SHA256 keyed with ``"{timestamp}\\n{secret}"``
  of an empty message when a secret is set; ``code`` other than 0 is a failure.
- Generic webhook: the event as JSON (``{"event": "monitors_failed" | "resolved" | "digest" |
  "stalled" | "node_offline" ..., "subject", "title", "lines", ...}``),
  ``X-Signature: sha256=<hex HMAC of the body>`` when a secret is set.

URLs and secrets come from environment variables (their names are settings); they never reach a
log line, a stat or a run record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.request
from typing import Any
from urllib.parse import quote_plus

from crawler.runs import run_errors


def alert_text(
    rule: str, results: list[dict[str, Any]], stats: Any, periodic: bool
) -> tuple[str, list[str]]:
    """``(title, closing lines)`` of a monitors alert (the desk lists the failed checks)."""
    failed = [r for r in results if not r["ok"]]
    when = "during the crawl" if periodic else "at the end of the crawl"
    title = f"[crawler] {rule}: {len(failed)} monitor(s) failed {when}"
    lines = [
        f"pages {stats.get('response_received_count', 0)}, items "
        f"{stats.get('item_scraped_count', 0)}, errors {run_errors(stats).total}, "
        f"bans {stats.get('antiban/bans', 0)}, finish reason {stats.get('finish_reason', '-')}"
    ]
    return title, lines


def post_json(url: str, body: Any, timeout: float, headers: dict[str, str] | None = None) -> Any:
    """POST ``body`` as JSON; the decoded JSON answer (None if not JSON). Raises on a non-2xx
    answer or a connection failure (the message never holds the URL)."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (http(s) URL from the operator)
        text = answer.read(65536)
    try:
        return json.loads(text)
    except ValueError:
        return None


def hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed mode.

    >>> dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=T", "SEC", 1700000000000)
    'https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1700000000000&sign=...'
    """
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    sign = quote_plus(hmac_b64(secret.encode("utf-8"), to_sign))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu's signature: the key is ``"{timestamp}\\n{secret}"``, the message empty."""
    return hmac_b64(f"{timestamp}\n{secret}".encode(), b"")


class AlertError(RuntimeError):
    """The receiver answered that it did not take the alert."""


class HttpAlert:
    """An alert POSTed to a URL read from the environment variable named by ``url_env``."""

    alert = "webhook"
    url_env = ""  # the setting naming the URL's environment variable
    secret_env = ""  # the setting naming the secret's environment variable ("" : none)

    def __init__(self, url: str, secret: str = "", timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    @classmethod
    def from_crawler_kwargs(cls, crawler: Any) -> dict[str, Any]:
        settings = crawler.settings
        secret = os.environ.get(settings.get(cls.secret_env), "") if cls.secret_env else ""
        return {
            "url": os.environ.get(settings.get(cls.url_env), ""),
            "secret": secret,
            "timeout": settings.getfloat("ALERT_TIMEOUT"),
        }

    @classmethod
    def configuration_problem(cls, settings: Any) -> str | None:
        variable = settings.get(cls.url_env)
        url = os.environ.get(variable, "")
        if not url:
            return f"${variable} is not set"
        if not url.startswith(("http://", "https://")):
            return f"${variable} is not an http(s) URL"
        return None

    def deliver(self, title: str, lines: list[str]) -> None:
        raise NotImplementedError

    def send_event(self, event: dict[str, Any], title: str, lines: list[str]) -> None:
        """Deliver one alert (the generic webhook also sends ``event``)."""
        self.deliver(title, lines)


class WebhookAlert(HttpAlert):
    alert = "webhook"
    url_env = "ALERT_WEBHOOK_URL_ENV"
    secret_env = "ALERT_WEBHOOK_SECRET_ENV"

    def deliver(self, title: str, lines: list[str]) -> None:
        self.post({"event": "message", "title": title, "lines": lines})

    def send_event(self, event: dict[str, Any], title: str, lines: list[str]) -> None:
        self.post({**event, "title": title, "lines": lines})

    def post(self, body: dict[str, Any]) -> None:
        headers = {}
        if self.secret:
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            digest = hmac.new(self.secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
            headers["X-Signature"] = f"sha256={digest}"
        post_json(self.url, body, self.timeout, headers)


class WeComAlert(HttpAlert):
    alert = "wecom"
    url_env = "ALERT_WECOM_URL_ENV"

    def deliver(self, title: str, lines: list[str]) -> None:
        body = {"msgtype": "markdown", "markdown": {"content": "\n".join([f"**{title}**", *lines])}}
        answer = post_json(self.url, body, self.timeout)
        if not isinstance(answer, dict) or answer.get("errcode") != 0:
            raise AlertError(f"WeCom did not take the alert: {answer!r}")


class DingTalkAlert(HttpAlert):
    alert = "dingtalk"
    url_env = "ALERT_DINGTALK_URL_ENV"
    secret_env = "ALERT_DINGTALK_SECRET_ENV"

    def deliver(self, title: str, lines: list[str]) -> None:
        url = self.url
        if self.secret:
            url = dingtalk_signed_url(url, self.secret, int(time.time() * 1000))
        text = "\n".join([f"### {title}", *lines])
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        answer = post_json(url, body, self.timeout)
        if not isinstance(answer, dict) or answer.get("errcode") != 0:
            raise AlertError(f"DingTalk did not take the alert: {answer!r}")


class FeishuAlert(HttpAlert):
    alert = "feishu"
    url_env = "ALERT_FEISHU_URL_ENV"
    secret_env = "ALERT_FEISHU_SECRET_ENV"

    def deliver(self, title: str, lines: list[str]) -> None:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": "\n".join([title, *lines])}}
        if self.secret:
            timestamp = int(time.time())
            body = {
                "timestamp": str(timestamp),
                "sign": feishu_sign(self.secret, timestamp),
                **body,
            }
        answer = post_json(self.url, body, self.timeout)
        code = answer.get("code", answer.get("StatusCode")) if isinstance(answer, dict) else None
        if code != 0:
            raise AlertError(f"Feishu did not take the alert: {answer!r}")
