"""Scheduled crawls (`scrapy schedule`; crawler/schedule)."""

from vocab.datadir import data_dir

SCHEDULE_DIR = str(data_dir / "schedule")  # state.json, crawl logs, lock files
SCHEDULE_TICK = 1.0  # seconds between looks at the clock and the rules directory
SCHEDULE_MISFIRE_GRACE = 60.0  # a run noticed later than this counts as missed (see catch_up)
SCHEDULE_STOP_GRACE = 30.0  # SIGTERM a crawl, SIGKILL it this long after
SCHEDULE_RUN_ID = None  # set by the scheduler for the crawls it starts

kinds = {"SCHEDULE_RUN_ID": "str"}
minimums = {"SCHEDULE_TICK": 0.01, "SCHEDULE_MISFIRE_GRACE": 0, "SCHEDULE_STOP_GRACE": 0}
