"""Plumbing every feature shares, knowing none of them (a test keeps it so):

- :mod:`.clock`: time and threads for crawl components (lanes off the event loop, waiters,
  sleeps), so tests drive them without waiting;
- :mod:`.switches`: components that are off say so once at INFO; components that cannot start
  refuse the crawl in one line (``refuse_start``);
- :mod:`.exitcodes` and :mod:`.runstatus`: the exit-status table of crawls, and the one decision
  from final stats to status and exit code;
- :mod:`.log_redaction`: the log filter that keeps secret values out of log lines;
- :mod:`.redis`: whether a crawl is distributed, which Redis it uses, the client;
- :mod:`.plugins`: field extractors a project writes in Python and lists in ``PLUGIN_MODULES``.
"""
