"""Where a deployment keeps what is secret and is not configuration: generated keys, hashed API
tokens, sessions, OAuth tokens. Outside the checkout, so nothing secret ever sits in the
repository's tree: ``$CRAWLER_STATE_DIR``, else ``$XDG_STATE_HOME/crawler-platform``, else
``~/.local/state/crawler-platform``. Files created there are mode 0600 (their writers see to it).
The deployment's settings file is looked for there too (``crawler.yaml``, unless
``CRAWLER_CONFIG`` names another: crawler/config, docs/configuration.md).

>>> state_dir({"CRAWLER_STATE_DIR": "/srv/crawler"})
PosixPath('/srv/crawler')
>>> state_dir({"XDG_STATE_HOME": "/x"})
PosixPath('/x/crawler-platform')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("CRAWLER_STATE_DIR"):
        return Path(env["CRAWLER_STATE_DIR"])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "crawler-platform"
