"""One politeness budget per host, shared by every crawl that uses the host: a rate and a
concurrency, enforced in each host's downloader slot, through Redis across processes or inside
the process (docs/templates.md#one-budget-per-host; settings in crawler/defaults/politeness.py).

- :mod:`.budget`: the policy and its two stores (:class:`LocalBudget`, :class:`RedisBudget`);
- :mod:`.downloader`: Scrapy's downloader asking the budget (``DOWNLOADER``).
"""

from crawler.politeness.budget import Limits, LocalBudget, RedisBudget
from crawler.politeness.downloader import budget_from_settings

__all__ = ["Limits", "LocalBudget", "RedisBudget", "budget_from_settings"]
