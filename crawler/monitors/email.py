"""The email alert channel type: sending a plain-text message over SMTP (``smtplib``,
in the alert thread), with STARTTLS or SSL and a login when configured; the password comes
from the environment variable named by ``ALERT_SMTP_PASSWORD_ENV``.

Spidermon's own ``SendSmtpEmail`` is not used: it needs ``premailer`` (an extra it does not
install) at import, requires a login, and sends through Scrapy's ``MailSender`` whose Deferred
Spidermon does not wait for, so a crawl ending at once could drop the alert.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from typing import Any


class EmailAlert:
    alert = "email"

    def __init__(self, **options: Any) -> None:
        self.options = options

    @classmethod
    def from_crawler_kwargs(cls, crawler: Any) -> dict[str, Any]:
        s = crawler.settings
        return {
            "host": s.get("ALERT_SMTP_HOST"),
            "port": s.getint("ALERT_SMTP_PORT"),
            "user": s.get("ALERT_SMTP_USER"),
            "password": os.environ.get(s.get("ALERT_SMTP_PASSWORD_ENV"), ""),
            "starttls": s.getbool("ALERT_SMTP_STARTTLS"),
            "ssl": s.getbool("ALERT_SMTP_SSL"),
            "sender": s.get("ALERT_EMAIL_FROM"),
            "to": s.getlist("ALERT_EMAIL_TO"),
            "timeout": s.getfloat("ALERT_TIMEOUT"),
        }

    @classmethod
    def configuration_problem(cls, settings: Any) -> str | None:
        if not settings.getlist("ALERT_EMAIL_TO"):
            return "ALERT_EMAIL_TO names no recipient"
        if settings.get("ALERT_SMTP_USER") and not os.environ.get(
            settings.get("ALERT_SMTP_PASSWORD_ENV"), ""
        ):
            return f"${settings.get('ALERT_SMTP_PASSWORD_ENV')} is not set (ALERT_SMTP_USER is)"
        return None

    def send_event(self, event: dict[str, Any], title: str, lines: list[str]) -> None:
        self.deliver(title, lines)

    def deliver(self, title: str, lines: list[str]) -> None:
        o = self.options
        message = EmailMessage()
        message["Subject"] = title
        message["From"] = o["sender"]
        message["To"] = ", ".join(o["to"])
        message.set_content("\n".join(lines) + "\n")
        smtp_class = smtplib.SMTP_SSL if o["ssl"] else smtplib.SMTP
        with smtp_class(o["host"], o["port"], timeout=o["timeout"]) as smtp:
            if o["starttls"] and not o["ssl"]:
                smtp.starttls()
            if o["user"]:
                smtp.login(o["user"], o["password"])
            smtp.send_message(message)
