"""The one exit-status contract of crawls: what ``scrapy crawl`` (and ``scrapy schedule``'s
retries, ``scrapy demo``, the data service) decide by. A run record's ``status`` and the
process's exit code always say the same thing: both come from
:func:`crawler.core.runstatus.run_status`, which also says which status wins when several apply
(start error, blocked, data not stored, stalled, interrupted, failed, monitor failed). A running crawl's
record has ``status: running`` and no exit code yet.

==== =================== =================================================================
code status              meaning
==== =================== =================================================================
0    ``finished``        the crawl finished and every monitor held
1    ``failed``          an unexpected error (a bug, an exception the crawl could not handle)
2    ``usage_error``     a bad command line: unknown rule, bad option or argument syntax
3    ``rule_error``      the rule has problems (``scrapy validate`` lists them)
4    ``start_error``     nothing could start: a missing argument or environment variable, no
                         valid start URL, a store or Redis that cannot be reached at start
5    ``blocked``         the site or the anti-ban layer stopped the crawl: a login that failed,
                         no usable proxy, bans that used up every retry of every request
6    ``data_not_stored`` items could not be stored: spilled to disk (replayable) or lost
7    ``monitor_failed``  the crawl ran, but a monitor of the rule failed
8    ``interrupted``     stopped by a signal (SIGINT, SIGTERM) or a timeout before it finished
9    ``stalled``         stopped because it made no progress (a rule's ``monitors: {stall: {after,
                         stop: true}}``): no page or item for that long
==== =================== =================================================================

>>> EXIT_CODES["start_error"], STATUSES[6]
(4, 'data_not_stored')
"""

from __future__ import annotations

EXIT_CODES: dict[str, int] = {
    "finished": 0,
    "failed": 1,
    "usage_error": 2,
    "rule_error": 3,
    "start_error": 4,
    "blocked": 5,
    "data_not_stored": 6,
    "monitor_failed": 7,
    "interrupted": 8,
    "stalled": 9,
}
STATUSES: dict[int, str] = {code: status for status, code in EXIT_CODES.items()}
