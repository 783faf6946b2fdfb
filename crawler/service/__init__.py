"""The data service (`scrapy serve`): an HTTP API over the store, run records and logs, the
rules directory, the schedule and the proxy pool, and the dashboard's built assets.

Split by concern: :mod:`~.app` builds the FastAPI app, :mod:`~.config` reads the settings once,
:mod:`~.api_tokens` and :mod:`~.access` are the API tokens and who may change what, sign-in is
:mod:`~.signin`; one router module per part of the API, named ``*_api`` (items, runs, events,
rules, schedules, proxies, admin), and beside them what they share: the stores of the worker
threads (:mod:`~.thread_stores`), run records as the API shows them (:mod:`~.run_views`),
streamed exports (:mod:`~.exports`), dead-letter replay (:mod:`~.dead_letter_replay`), rule
files (:mod:`~.rulefiles`) and crawls started from the service (:mod:`~.launcher`).
See docs/service.md.
"""
