"""What a crawl tells while it runs and keeps when it ends (docs/storage.md; settings in
crawler/defaults/runs.py):

- :mod:`.recorder`: the run record in the store, from the crawl's start to its end, its live
  counters updated while it runs (``RunRecorder``), under the run id whoever started the crawl
  gave (``RUN_ID``; :func:`run_id_of`);
- :mod:`.runlog`: the crawl's own log file, named in its run record (``RunLog``);
- :mod:`.progress`: a progress line every ``PROGRESS_INTERVAL`` seconds (``Progress``);
- :mod:`.figures`: every figure a run shows, from its stats or its record: counters, errors
  and the error rate (:func:`run_errors`: what counts as an error), the ban rate, the total
  its progress is measured against;
- :mod:`.coverage`: how often each field was filled, per page type (``FieldCoverage``), and
  reading it back from a crawl's stats or a run record, per page type and per item type
  (:func:`page_coverage`, :func:`item_type_coverage`).

The CLI, the data service and the monitors read runs through what this module exports. The
exit status a run record holds is decided in :mod:`crawler.core.runstatus`.
"""

from crawler.runs.coverage import ALL_PAGES, item_type_coverage, page_coverage
from crawler.runs.figures import (
    Expected,
    RunBans,
    RunErrors,
    eta_seconds,
    expected_total,
    live_counters,
    rate_of,
    run_bans,
    run_errors,
)
from crawler.runs.logview import QUERY_MAX, LogSource, level_rank, needle_of, read_page, text_of
from crawler.runs.recorder import build_run_record, run_id_of, spill_record

__all__ = [
    "QUERY_MAX",
    "LogSource",
    "level_rank",
    "needle_of",
    "read_page",
    "text_of",
    "ALL_PAGES",
    "Expected",
    "RunBans",
    "RunErrors",
    "build_run_record",
    "eta_seconds",
    "expected_total",
    "item_type_coverage",
    "live_counters",
    "page_coverage",
    "rate_of",
    "run_bans",
    "run_errors",
    "run_id_of",
    "spill_record",
]
