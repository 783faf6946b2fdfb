"""What a crawl tells while it runs and keeps when it ends (docs/storage.md; settings in
crawler/defaults/runs.py):

- :mod:`.recorder`: the run record in the store, from the crawl's start to its end, its live
  counters updated while it runs (``RunRecorder``);
- :mod:`.runlog`: the crawl's own log file, named in its run record (``RunLog``);
- :mod:`.progress`: a progress line every ``PROGRESS_INTERVAL`` seconds (``Progress``);
- :mod:`.coverage`: how often each field was filled (``FieldCoverage``), and reading it back
  from a crawl's stats (:func:`field_coverage`, for monitors and the data service).

The exit status a run record holds is decided in :mod:`crawler.core.runstatus`.
"""

from crawler.runs.coverage import field_coverage

__all__ = ["field_coverage"]
