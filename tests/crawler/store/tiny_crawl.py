"""A tiny real crawl for the store tests: a hand-written spider on ``data:`` URLs.

Run as ``python tiny_crawl.py '<settings JSON>' '<spider kwargs JSON>'`` with the project on
PYTHONPATH. It does not depend on the rule spider or the sample site.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess

from crawler.store.base import StoreTarget


class TinySpider(Spider):
    name = "tiny"

    def __init__(
        self, n: int = 30, pages: int = 1, changed: int = 0, endless: bool = False, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.n, self.pages, self.changed, self.endless = int(n), int(pages), int(changed), endless

    async def start(self) -> AsyncIterator[Request]:
        yield Request("data:,page-0", meta={"page": 0}, dont_filter=True)

    def parse(self, response: Any) -> Any:
        page = response.meta["page"]
        for i in range(self.n):
            number = page * self.n + i
            yield {
                "url": f"https://tiny.test/item/{number}",
                "title": f"Item {number}" + (" (changed)" if number < self.changed else ""),
                "tags": ["a", "b"],
                "_url": response.url,
                "_rule": "tiny",
                "_page": "list",
                "_crawled_at": "2026-01-01T00:00:00Z",
            }
        if page == 0:
            yield {"title": "no url", "_url": response.url, "_rule": "tiny"}
            yield {
                "_errors": ["price: not a number"],
                "_raw": {"price": "n/a"},
                "_url": response.url,
            }
        print(f"TINY-PAGE {page}", file=sys.stderr, flush=True)
        if self.endless or page + 1 < self.pages:
            yield Request(f"data:,page-{page + 1}", meta={"page": page + 1}, dont_filter=True)

    def store_target(self, item: dict) -> StoreTarget:
        return StoreTarget("tiny_items", ("url",), history=True)


def store_defaults() -> dict[str, Any]:
    """The platform's store settings (components read them without fallbacks)."""
    import crawler.defaults.store

    return {
        n: getattr(crawler.defaults.store, n) for n in dir(crawler.defaults.store) if n.isupper()
    }


def main() -> None:
    settings = {
        **store_defaults(),
        "ITEM_PIPELINES": {"crawler.store.store_pipeline.StorePipeline": 900},
        "EXTENSIONS": {"crawler.runs.recorder.RunRecorder": 500},
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "INFO",
        **json.loads(sys.argv[1]),
    }
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    process = CrawlerProcess(settings)
    process.crawl(TinySpider, **kwargs)
    process.start()


if __name__ == "__main__":
    main()
