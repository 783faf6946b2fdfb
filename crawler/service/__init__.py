"""The data service (`scrapy serve`): an HTTP API over the store, run records and logs, the
rules directory, the schedule and the proxy pool, and the dashboard's built assets.

Split by concern: :mod:`~crawler.service.app` builds the FastAPI app, :mod:`~.config` reads the
settings once, :mod:`~.tokens` and :mod:`~.auth` are the API tokens and who may change what,
and one router module per part of the API (items, runs, events, rules, schedules, proxies).
See docs/service.md.
"""
