"""One configuration home for a deployment: its file (YAML, outside the repository:
``$CRAWLER_CONFIG`` or ``<state dir>/crawler.yaml``) and ``CRAWLER_<NAME>`` environment
variables, over the project's settings and under ``-s``; checked against the settings catalog
at start, secrets given only as references (docs/configuration.md).

``crawler/settings.py`` applies them (:func:`apply_deployment`); ``scrapy config show|check``
(crawler/commands/config.py) shows and checks them.
"""

from crawler.config.deployment import (
    CONFIG_ENV,
    Deployment,
    Origin,
    applied_deployment,
    apply_deployment,
    config_path,
    load_deployment,
    warn_once,
)

__all__ = [
    "CONFIG_ENV",
    "Deployment",
    "Origin",
    "applied_deployment",
    "apply_deployment",
    "config_path",
    "load_deployment",
    "warn_once",
]
