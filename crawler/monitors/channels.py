"""Alert channels and routes: where an alert goes.

A **channel** is a named way to reach people: one of the alert types (``webhook``, ``wecom``,
``dingtalk``, ``feishu``, ``email``: ``MONITORS_ALERT_ACTIONS``) with its own environment
variables. Every type is a channel of its own name, configured by the ``ALERT_*`` settings;
more are declared in ``ALERT_CHANNELS`` or by an admin in ``ALERTS_FILE``::

    ALERT_CHANNELS = {
        "ops": {"type": "wecom", "url_env": "OPS_WECOM_URL"},
        "gov-team": {"type": "dingtalk", "url_env": "GOV_DING_URL", "secret_env": "GOV_DING_SECRET",
                     "quiet_hours": "22:00-08:00"},
        "editors": {"type": "email", "to": ["editors@example.com"]},
    }

A channel names environment variables, never their values: URLs with their keys and signing
secrets stay in the environment. ``quiet_hours`` overrides ``ALERT_QUIET_HOURS`` for it
("" : never quiet).

A **route** sends the alerts of some rules to channels: ``{"match": {"rule": "gov_*", "tag":
"gov", "table": "gov_sites"}, "to": ["gov-team"]}`` (every key given must match; ``rule`` is a
shell pattern). A rule's own ``alerts: {to: [...]}`` adds its channels; with neither, an alert
goes to the default channels, ``MONITORS_ALERTS``.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from scrapy.settings import BaseSettings, Settings
from scrapy.utils.misc import load_object

logger = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
CHANNEL_KEYS = {"type", "url_env", "secret_env", "to", "quiet_hours"}
MATCH_KEYS = ("rule", "tag", "table")
MAX_CHANNELS = 200
MAX_ROUTES = 500
MAX_FILE = 256 * 1024


class ChannelError(ValueError):
    """A channel or route that cannot be used: one line naming it."""


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    url_env: str = ""
    secret_env: str = ""
    to: tuple[str, ...] = ()
    quiet_hours: str | None = None  # None: ALERT_QUIET_HOURS

    def public(self) -> dict[str, Any]:
        """What the API shows (names of variables, never their values) and whether it is set."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        for key in ("url_env", "secret_env"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.to:
            out["to"] = list(self.to)
        if self.quiet_hours is not None:
            out["quiet_hours"] = self.quiet_hours
        return out


@dataclass(frozen=True)
class Route:
    match: Mapping[str, str]
    to: tuple[str, ...]

    def matches(self, subject: Subject) -> bool:
        if not self.match:
            return False
        for key, want in self.match.items():
            if key == "rule" and not fnmatch.fnmatchcase(subject.name, want):
                return False
            if key == "tag" and want not in subject.tags:
                return False
            if key == "table" and subject.table != want:
                return False
        return True

    def public(self) -> dict[str, Any]:
        return {"match": dict(self.match), "to": list(self.to)}


@dataclass(frozen=True)
class Subject:
    """What an alert is about: a rule (with its tags and site table), a node, a schedule."""

    name: str
    kind: str = "rule"
    tags: tuple[str, ...] = ()
    table: str = ""
    to: tuple[str, ...] = ()  # the rule's own ``alerts: {to}``
    dedup: float | None = None  # the rule's own window (seconds); None: ALERT_DEDUP_WINDOW
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


def rule_subject(rule: Any) -> Subject:
    """The subject of a rule's alerts: its name, tags, site table and ``alerts:`` section."""
    alerts = rule.section("alerts") if rule is not None else None
    table = rule.path.stem if getattr(rule, "row", 0) and rule.path is not None else ""
    return Subject(
        name=rule.name,
        tags=tuple(rule.tags),
        table=table,
        to=tuple(getattr(alerts, "to", ())),
        dedup=getattr(alerts, "dedup", None),
    )


def parse_channel(name: str, spec: Any, types: Iterable[str]) -> Channel:
    where = f"alert channel {name!r}"
    if not isinstance(name, str) or not NAME.match(name):
        raise ChannelError(f"{where}: a name is letters, digits, '_', '.', '-' (at most 64)")
    if not isinstance(spec, Mapping):
        raise ChannelError(f"{where}: expected a mapping with 'type'")
    unknown = set(spec) - CHANNEL_KEYS
    if unknown:
        raise ChannelError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    kind = spec.get("type")
    if kind not in set(types):
        raise ChannelError(f"{where}: type must be one of {', '.join(sorted(types))}")
    for key in ("url_env", "secret_env"):
        value = spec.get(key, "")
        if value and not (isinstance(value, str) and ENV_NAME.match(value)):
            raise ChannelError(
                f"{where}: {key} names an environment variable (A-Z, 0-9, _), not a value"
            )
    to = spec.get("to", [])
    if (
        not isinstance(to, list)
        or len(to) > 50
        or not all(isinstance(a, str) and EMAIL.match(a) for a in to)
    ):
        raise ChannelError(f"{where}: to is a list of at most 50 email addresses")
    quiet = spec.get("quiet_hours")
    if quiet is not None and quiet != "" and not (isinstance(quiet, str) and QUIET.match(quiet)):
        raise ChannelError(f"{where}: quiet_hours is HH:MM-HH:MM (or empty: never quiet)")
    return Channel(
        name, kind, spec.get("url_env", ""), spec.get("secret_env", ""), tuple(to), quiet
    )


def parse_route(index: int, spec: Any, channels: Mapping[str, Channel]) -> Route:
    where = f"alert route {index + 1}"
    if not isinstance(spec, Mapping) or set(spec) - {"match", "to"}:
        raise ChannelError(f"{where}: expected {{match: {{rule|tag|table: ...}}, to: [...]}}")
    match = spec.get("match")
    if not isinstance(match, Mapping) or not match or set(match) - set(MATCH_KEYS):
        raise ChannelError(f"{where}: match names at least one of {', '.join(MATCH_KEYS)}")
    if not all(isinstance(v, str) and 0 < len(v) <= 100 for v in match.values()):
        raise ChannelError(f"{where}: each match value is a non-empty string")
    to = spec.get("to")
    if not isinstance(to, list) or not to or not all(isinstance(c, str) for c in to):
        raise ChannelError(f"{where}: to is a non-empty list of channel names")
    for name in to:
        if name not in channels:
            raise ChannelError(f"{where}: no alert channel named {name!r}")
    return Route(dict(match), tuple(to))


def read_file(path: Path) -> dict[str, Any]:
    """The admin's channels and routes (``ALERTS_FILE``); {} when there is none."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise ChannelError(f"{path}: larger than {MAX_FILE} bytes")
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as exc:
        raise ChannelError(f"{path}: cannot be read ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - {"channels", "routes"}:
        raise ChannelError(f"{path}: expected a mapping of channels and routes")
    return data


def write_file(path: Path, channels: Mapping[str, Any], routes: list[Any]) -> None:
    """Write the admin's channels and routes, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    text = yaml.safe_dump({"channels": dict(channels), "routes": list(routes)}, sort_keys=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


class AlertConfig:
    """The channels and routes in effect: built-in, ``ALERT_CHANNELS``/``ALERT_ROUTES``, then
    the admin's file (whose names may not shadow the settings')."""

    def __init__(self, settings: BaseSettings) -> None:
        self.settings = settings
        self.types = settings.getdict("MONITORS_ALERT_ACTIONS")
        self.channels: dict[str, Channel] = {t: self._builtin(t) for t in self.types}
        self.fixed = set(self.channels)
        for name, spec in settings.getdict("ALERT_CHANNELS").items():
            self.channels[name] = parse_channel(name, spec, self.types)
            self.fixed.add(name)
        routes = settings.get("ALERT_ROUTES") or []
        if isinstance(routes, str):  # -s 'ALERT_ROUTES=[...]' (getlist would split on commas)
            try:
                routes = json.loads(routes)
            except ValueError as exc:
                raise ChannelError(f"ALERT_ROUTES is not JSON: {exc}") from None
        if not isinstance(routes, list):
            raise ChannelError("ALERT_ROUTES is a list of {match, to}")
        self.routes = [parse_route(i, spec, self.channels) for i, spec in enumerate(routes)]
        self.fixed_routes = len(self.routes)
        self.file = Path(settings.get("ALERTS_FILE"))
        admin = read_file(self.file)
        self.file_channels = dict(admin.get("channels") or {})
        for name, spec in self.file_channels.items():
            if name in self.fixed:
                raise ChannelError(f"{self.file}: channel {name!r} is already a setting's")
            self.channels[name] = parse_channel(name, spec, self.types)
        self.file_routes = list(admin.get("routes") or [])
        self.routes += [
            parse_route(i, spec, self.channels)
            for i, spec in enumerate(self.file_routes, start=self.fixed_routes)
        ]
        if len(self.channels) > MAX_CHANNELS or len(self.routes) > MAX_ROUTES:
            raise ChannelError(f"at most {MAX_CHANNELS} channels and {MAX_ROUTES} routes")

    def _builtin(self, kind: str) -> Channel:
        """A type as a channel of its own name, with the variables its settings name."""
        cls = load_object(self.types[kind])
        url = self.settings.get(getattr(cls, "url_env", "")) if getattr(cls, "url_env", "") else ""
        secret = getattr(cls, "secret_env", "")
        to = tuple(self.settings.getlist("ALERT_EMAIL_TO")) if kind == "email" else ()
        return Channel(kind, kind, url or "", self.settings.get(secret) or "" if secret else "", to)

    def channels_for(self, subject: Subject) -> list[str]:
        """The channels an alert about ``subject`` goes to, in a stable order."""
        names = list(subject.to)
        for route in self.routes:
            if route.matches(subject):
                names += [n for n in route.to if n not in names]
        if not names:
            names = self.settings.getlist("MONITORS_ALERTS")
        return names

    def quiet_hours(self, name: str) -> str:
        channel = self.channels.get(name)
        if channel is not None and channel.quiet_hours is not None:
            return channel.quiet_hours
        return self.settings.get("ALERT_QUIET_HOURS") or ""

    def problem(self, name: str) -> str | None:
        """Why the channel cannot send (None: it can)."""
        channel = self.channels.get(name)
        if channel is None:
            return f"no alert channel named {name!r}"
        return load_object(self.types[channel.type]).configuration_problem(self._settings(channel))

    def sender(self, name: str) -> Any:
        """The channel's action, ready to ``send_event(event, title, lines)``."""
        channel = self.channels[name]
        cls = load_object(self.types[channel.type])
        return cls(**cls.from_crawler_kwargs(SimpleNamespace(settings=self._settings(channel))))

    def _settings(self, channel: Channel) -> BaseSettings:
        """The settings with this channel's variables in place of its type's defaults."""
        if channel.name == channel.type:
            return self.settings
        cls = load_object(self.types[channel.type])
        overlay: dict[str, Any] = {}
        url_setting = getattr(cls, "url_env", "")
        secret_setting = getattr(cls, "secret_env", "")
        if url_setting and channel.url_env:
            overlay[url_setting] = channel.url_env
        if secret_setting:  # "" : no secret (os.environ.get("", "") is "")
            overlay[secret_setting] = channel.secret_env
        if channel.to:
            overlay["ALERT_EMAIL_TO"] = list(channel.to)
        settings = Settings(self.settings.copy_to_dict())
        settings.setdict(overlay, priority="cmdline")
        return settings
