"""RunLog: every crawl's log kept in a file of its own, named in its run record (``log_file``),
so that ``scrapy store log RUN [--follow]`` prints it, however the crawl was started.

The file is ``RUN_LOG_DIR/<rule>-<UTC start>-<run id prefix>.log``; it holds the records at
``RUN_LOG_LEVEL`` (INFO) and above whatever the console's ``LOG_LEVEL``, from the moment the
extensions are built to the end of the crawl, with secrets redacted as on the console (the
secret redaction extension filters every root handler). Within ``scrapy demo``, several crawls
share one process, so each of their files also holds the others' lines.

Settings: ``RUN_LOG_DIR`` (empty: no file), ``RUN_LOG_LEVEL``, Scrapy's ``LOG_FORMAT``,
``LOG_DATEFORMAT`` and ``LOG_ENCODING``.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals

from crawler.core.switches import off
from crawler.runs.recorder import run_id_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class RunLog:
    def __init__(self, crawler: Crawler, path: Path, handler: logging.Handler) -> None:
        self.crawler = crawler
        self.path = path
        self.handler: logging.Handler | None = handler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunLog:
        settings = crawler.settings
        directory = settings.get("RUN_LOG_DIR") or ""
        if not directory:
            raise off("RunLog", "RUN_LOG_DIR is empty")
        name = re.sub(r"[^\w.-]", "_", getattr(crawler.spidercls, "name", None) or "crawl")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = Path(directory) / f"{name}-{stamp}-{run_id_of(crawler)[:8]}.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding=settings.get("LOG_ENCODING") or "utf-8")
        except OSError as exc:
            logger.error("Cannot keep this crawl's log in %s (%s); RUN_LOG_DIR", path, exc)
            raise off("RunLog", f"cannot write {path}") from None
        handler.setFormatter(
            logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT"))
        )
        handler.setLevel(settings.get("RUN_LOG_LEVEL"))
        logging.getLogger().addHandler(handler)  # before spider_opened: redaction filters it
        crawler.stats.set_value("run/log_file", str(path))
        ext = cls(crawler, path, handler)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        logger.info("This crawl's log is kept in %s", path)
        return ext

    def engine_stopped(self) -> None:
        """After "Dumping Scrapy stats" and "Spider closed". (A crawl refused at start never
        starts its engine: its file stays open until the process ends, moments later.)"""
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)
            self.handler.close()
            self.handler = None
