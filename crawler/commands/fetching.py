"""Pages fetched for a command (``scrapy rules new``, ``scrapy rules repair``) as a crawl would
fetch them: through the project's downloader middlewares, nothing stored, no run recorded."""

from __future__ import annotations

from typing import Any


def fetch_pages(settings: Any, url: str, then: Any = None) -> tuple[dict[str, Any], str | None]:
    """GETs through the project's downloader middlewares (user agents, encodings...), with
    nothing stored and no run recorded: ``url``, then the URLs ``then(response)`` gives (at
    most 5). The responses by the URL asked for, and the first error."""
    from scrapy import Request, Spider
    from scrapy.crawler import CrawlerProcess

    got: dict[str, Any] = {}
    errors: list[str] = []

    class FetchSpider(Spider):
        name = "rules-new"

        async def start(self) -> Any:
            yield Request(url, callback=self.first, errback=self.failed, dont_filter=True)

        def first(self, response: Any) -> Any:
            got[url] = response
            for more in (then(response) if then else [])[:5]:
                yield Request(
                    more, callback=self.keep, errback=self.failed, cb_kwargs={"asked": more}
                )

        def keep(self, response: Any, asked: str) -> None:
            got[asked] = response

        def failed(self, failure: Any) -> None:
            errors.append(failure.getErrorMessage())

    overrides = {"ITEM_PIPELINES": {}, "STORE_RUNS_ENABLED": False, "DISTRIBUTED": False}
    overrides |= {"INCREMENTAL_STATE_URI": "", "LOG_LEVEL": "ERROR", "RUN_LOG_DIR": ""}
    overrides |= {"PROGRESS_INTERVAL": 0, "COVERAGE_ENABLED": False}
    fetch_settings = settings.copy()
    fetch_settings.setdict(overrides, priority="cmdline")
    process = CrawlerProcess(fetch_settings)
    process.crawl(FetchSpider)
    process.start()
    return got, errors[0] if errors else "no response"
