"""A log filter that replaces secret values by ``***`` in every record it sees, message and
traceback alike. A rule crawl puts one on the root logger's handlers while it runs
(:mod:`crawler.spider.secret_redaction`); the OAuth middleware and the data service's sign-in
use it for the secrets they hold.
"""

from __future__ import annotations

import logging

from vocab.redaction import Redactor


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor.text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        return True
