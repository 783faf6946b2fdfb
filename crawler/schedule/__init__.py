"""Scheduled crawls: ``scrapy schedule`` starts each rule's crawl when its cron schedule says.

:mod:`crawler.schedule.timing` reads cron expressions (croniter) in the rule's time zone;
:mod:`crawler.schedule.daemon` runs crawls as processes, one at a time per rule, records them and
retries failures; :mod:`crawler.schedule.runs` ties the daemon's records to the crawl's own run
record in the store.
"""
