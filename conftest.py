"""Loaded by pytest before anything else (doctests of the packages included).

The deployment's state directory (generated keys, API tokens, sessions, OAuth tokens;
vocab/statedir.py) is a temporary directory for the whole test session: tests write nothing into
the user's home or the repository. It is set before any project module reads it.
"""

import os
import tempfile

os.environ["CRAWLER_STATE_DIR"] = tempfile.mkdtemp(prefix="crawler-state-")
# Settings read from the environment (REDIS_URL, STORE_URI) come from the tests, never the shell.
for name in ("REDIS_URL", "STORE_URI"):
    os.environ.pop(name, None)
