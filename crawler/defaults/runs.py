"""What a crawl tells while it runs and keeps when it ends: the progress line, the live run
record, the crawl's log file, field coverage (crawler/runs/; docs/storage.md)."""

from vocab.datadir import data_dir

PROGRESS_INTERVAL = (
    10.0  # seconds between progress lines (pages, items, errors, rate, queue); 0: off
)
RUN_UPDATE_INTERVAL = (
    10.0  # seconds between updates of a running crawl's record; 0: start and end only
)
# Every crawl's log is kept here, one file per run, named in its run record (`scrapy store log`).
# Empty: no log file.
RUN_LOG_DIR = str(data_dir / "logs")
RUN_LOG_LEVEL = "INFO"  # what the kept log holds, whatever LOG_LEVEL the console shows
COVERAGE_ENABLED = True  # field coverage stats, and warnings for fields empty in every item
# The run's id, given by whoever starts the crawl (the data service, the scheduler, another
# launcher) so that its run record, its log file's name and the launcher's own records share
# one id (1 to 64 letters, digits, _ . -); unset: SCHEDULE_RUN_ID when set, else a new one.
RUN_ID = None

kinds = {"RUN_ID": "str"}
rule_safe = {"PROGRESS_INTERVAL"}
choices = {"RUN_LOG_LEVEL": ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")}
minimums = {"PROGRESS_INTERVAL": 0, "RUN_UPDATE_INTERVAL": 0}
