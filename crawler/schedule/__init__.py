"""Scheduled crawls: ``scrapy schedule`` starts each rule's crawl when its cron schedule says.

:mod:`crawler.schedule.timing` reads cron expressions (croniter) in the rule's time zone;
:mod:`crawler.schedule.daemon` runs crawls as processes (:mod:`crawler.schedule.jobs`), one at a
time per rule (:mod:`crawler.schedule.locks`), records them and retries failures, and skips
paused rules (:mod:`crawler.schedule.pauses`); :mod:`crawler.schedule.scheduled_runs` ties the
daemon's records to the crawl's own run record in the store; :mod:`crawler.schedule.chains`
starts the rules that run ``after:`` others (chained runs), for the daemon and the service.

Other packages (the data service starts crawls as the daemon does) use what this module exports.
"""

from crawler.schedule.chains import Chains, Trigger, start_due
from crawler.schedule.jobs import launch_scrapy, terminate
from crawler.schedule.lateness import late_checks
from crawler.schedule.locks import RuleLock
from crawler.schedule.pauses import Pauses
from crawler.schedule.scheduled_runs import settle_status, status_of
from crawler.schedule.timing import next_fire

__all__ = [
    "Chains",
    "Pauses",
    "RuleLock",
    "late_checks",
    "launch_scrapy",
    "next_fire",
    "settle_status",
    "start_due",
    "status_of",
    "terminate",
    "Trigger",
]
