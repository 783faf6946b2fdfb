"""Where the platform keeps its files by default: ``<project>/data`` (git-ignored), or the
directory named by the environment variable ``CRAWLER_DATA_DIR`` (the test suite points it at a
temporary directory, so that no test writes into the project's data/). The crawler's defaults and
the proxy pool's both put their files under it.

Not a settings group: each default that names a file under it (``STORE_URI``,
``STORE_SPILL_DIR``, ``STORE_JOURNAL_DIR``, ``RUN_LOG_DIR``, ``SCHEDULE_DIR``,
``INCREMENTAL_STATE_URI``, ``RENDER_SCREENSHOT_DIR``, ``CAPTCHA_MANUAL_DIR``,
``PROXY_POOL_STORE``) can be set on its own.

Run from a deployed egg (a Scrapyd node: :mod:`vocab.bundle`), the project's root is the egg
file: the data directory is then ``./data`` of the node's working directory unless
``CRAWLER_DATA_DIR`` says otherwise, and the rules are the egg's, unpacked there.
"""

import os
from pathlib import Path

from vocab.bundle import unpack_rules

project_root = Path(__file__).resolve().parents[1]
in_egg = project_root.is_file()
data_dir = Path(
    os.getenv("CRAWLER_DATA_DIR") or (Path.cwd() / "data" if in_egg else project_root / "data")
)
rules_dir = unpack_rules(project_root, data_dir) if in_egg else project_root / "rules"
