"""The project's settings for tests that build crawlers and components in-process.

Components read their settings without inline fallbacks (the defaults live in crawler/defaults/),
so a test crawler gets the project's settings, as ``scrapy crawl`` would, plus its overrides.
"""

from __future__ import annotations

from typing import Any

import crawler.settings

# Nothing a test builds writes into the project's data/ unless the test points it elsewhere.
NO_PROJECT_DATA = {
    "STORE_URI": "",
    "INCREMENTAL_STATE_URI": "",
    "STORE_JOURNAL_DIR": "",
    "RUN_LOG_DIR": "",
}


def project_settings(settings: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """Every setting of crawler/settings.py (the platform defaults included), no store, then
    ``settings`` and ``overrides``."""
    values = {n: getattr(crawler.settings, n) for n in dir(crawler.settings) if n.isupper()}
    values.update(NO_PROJECT_DATA)
    values.update(settings or {})
    values.update(overrides)
    return values
