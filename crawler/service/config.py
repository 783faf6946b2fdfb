"""What the data service is configured with, read once from the Scrapy settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

# Settings a crawl started by the service must not inherit from its command line.
NOT_FORWARDED = frozenset(
    {"LOG_FILE", "LOG_ENABLED", "RUN_ID", "SCHEDULE_RUN_ID", "DISTRIBUTED_SEED", "SERVICE_HOST"}
)


def forwarded_settings(settings: BaseSettings) -> tuple[tuple[str, str], ...]:
    """``-s NAME=VALUE`` given to ``scrapy serve``, passed on to the crawls and previews it
    starts (as ``scrapy schedule`` does)."""
    cmdline = SETTINGS_PRIORITIES["cmdline"]
    return tuple(
        (name, str(attr.value))
        for name, attr in settings.attributes.items()
        if attr.priority >= cmdline
        and name not in NOT_FORWARDED
        and isinstance(attr.value, str | int | float | bool)
    )


@dataclass(frozen=True)
class ServiceConfig:
    store_uri: str
    rules_dir: Path
    schedule_dir: Path
    data_dir: Path
    dashboard_dir: Path
    tokens_file: Path
    tokens_env: str
    page_max: int
    history_max: int
    log_chunk: int
    events_poll: float
    events_progress_every: float
    events_max_seconds: float
    preview_timeout: float
    preview_max_output: int
    preview_concurrency: int
    changes_settle: float
    index_item_types: bool
    indexes: dict[str, Any]
    admin_index_max: int
    body_max: int
    body_max_routes: dict[str, int]
    allowed_hosts: tuple[str, ...]
    base_url: str
    replay_max: int
    run_args_max: int
    stop_grace: float
    run_update_interval: float
    proxy_sample_interval: float
    proxy_history_days: float
    proxy_runs: int
    crawl_settings: tuple[tuple[str, str], ...] = ()
    host: str = "127.0.0.1"

    @classmethod
    def from_settings(cls, settings: BaseSettings, **overrides: Any) -> ServiceConfig:
        s = settings
        values: dict[str, Any] = {
            "store_uri": s.get("STORE_URI") or "",
            "rules_dir": Path(s.get("RULES_DIR")),
            "schedule_dir": Path(s.get("SCHEDULE_DIR")),
            "data_dir": Path(s.get("SERVICE_DATA_DIR")),
            "dashboard_dir": Path(s.get("SERVICE_DASHBOARD_DIR")),
            "tokens_file": Path(s.get("SERVICE_TOKENS_FILE")).expanduser(),
            "tokens_env": s.get("SERVICE_TOKENS_ENV"),
            "page_max": s.getint("SERVICE_PAGE_MAX"),
            "history_max": s.getint("SERVICE_HISTORY_MAX"),
            "log_chunk": s.getint("SERVICE_LOG_CHUNK"),
            "events_poll": s.getfloat("SERVICE_EVENTS_POLL"),
            "events_progress_every": s.getfloat("SERVICE_EVENTS_PROGRESS_EVERY"),
            "events_max_seconds": s.getfloat("SERVICE_EVENTS_MAX_SECONDS"),
            "preview_timeout": s.getfloat("SERVICE_PREVIEW_TIMEOUT"),
            "preview_max_output": s.getint("SERVICE_PREVIEW_MAX_OUTPUT"),
            "preview_concurrency": s.getint("SERVICE_PREVIEW_CONCURRENCY"),
            "changes_settle": s.getfloat("SERVICE_CHANGES_SETTLE"),
            "index_item_types": s.getbool("SERVICE_INDEX_ITEM_TYPES"),
            "indexes": s.getdict("SERVICE_INDEXES"),
            "admin_index_max": s.getint("SERVICE_ADMIN_INDEX_MAX"),
            "body_max": s.getint("SERVICE_BODY_MAX"),
            "body_max_routes": {
                str(k): int(v) for k, v in s.getdict("SERVICE_BODY_MAX_ROUTES").items()
            },
            "allowed_hosts": tuple(str(h) for h in s.getlist("SERVICE_ALLOWED_HOSTS")),
            "base_url": str(s.get("SIGNIN_BASE_URL") or ""),
            "replay_max": s.getint("SERVICE_REPLAY_MAX"),
            "run_args_max": s.getint("SERVICE_RUN_ARGS_MAX"),
            "stop_grace": s.getfloat("SCHEDULE_STOP_GRACE"),
            "run_update_interval": s.getfloat("SERVICE_RUN_UPDATE_INTERVAL"),
            "proxy_sample_interval": s.getfloat("SERVICE_PROXY_SAMPLE_INTERVAL"),
            "proxy_history_days": s.getfloat("SERVICE_PROXY_HISTORY_DAYS"),
            "proxy_runs": s.getint("SERVICE_PROXY_RUNS"),
            "crawl_settings": forwarded_settings(s),
            "host": s.get("SERVICE_HOST"),
        }
        values.update(overrides)
        return cls(**values)
