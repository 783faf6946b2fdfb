"""The platform's settings and their defaults: one module per group (as Scrapy's
``default_settings``), star-imported by the project's settings (``crawler/settings.py``).

Components read settings without inline fallbacks. :func:`catalog` is what ``scrapy validate``
knows about settings: a setting exists exactly when Scrapy or one of :data:`GROUPS` declares it;
its type comes from its default (or the module's ``kinds`` when the default is None), its allowed
values from ``choices``/``minimums``, and whether a rule may set it from ``rule_safe``. Scrapy's
own settings that a rule may set are listed in :data:`SCRAPY_RULE_SAFE`: plain values only, never
a class, a module, a file or an output. :func:`command_line_problems` checks settings given on a
command line (``-s NAME=VALUE``: text) against the same catalog, before anything starts.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Container, Iterable, Mapping
from functools import lru_cache
from types import ModuleType
from typing import Any

from crawler.rules.problems import did_you_mean
from crawler.rules.settings_catalog import SettingsCatalog, SettingSpec

GROUPS = (
    "crawler.defaults.rules",
    "crawler.defaults.store",
    "crawler.defaults.antiban",
    "crawler.defaults.accounts",
    "crawler.defaults.distributed",
    "crawler.defaults.schedule",
    "crawler.defaults.auth",
    "crawler.defaults.service",
    "crawler.defaults.monitors",
    "crawler.defaults.push",
    "crawler.defaults.render",
    "crawler.defaults.runs",
    "crawler.defaults.politeness",
    "crawler.defaults.nodes",
    "crawler.defaults.neardup",
    "crawler.defaults.archive",
    "crawler.defaults.files",
    "proxies.defaults",
)

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")

SCRAPY_RULE_SAFE = frozenset(
    {
        "AUTOTHROTTLE_DEBUG",
        "AUTOTHROTTLE_ENABLED",
        "AUTOTHROTTLE_MAX_DELAY",
        "AUTOTHROTTLE_START_DELAY",
        "AUTOTHROTTLE_TARGET_CONCURRENCY",
        "CLOSESPIDER_ERRORCOUNT",
        "CLOSESPIDER_ITEMCOUNT",
        "CLOSESPIDER_PAGECOUNT",
        "CLOSESPIDER_TIMEOUT",
        "COMPRESSION_ENABLED",
        "CONCURRENT_ITEMS",
        "CONCURRENT_REQUESTS",
        "CONCURRENT_REQUESTS_PER_DOMAIN",
        "CONCURRENT_REQUESTS_PER_IP",
        "COOKIES_ENABLED",
        "DEFAULT_REQUEST_HEADERS",
        "DEPTH_LIMIT",
        "DEPTH_PRIORITY",
        "DNS_TIMEOUT",
        "DOWNLOAD_DELAY",
        "DOWNLOAD_FAIL_ON_DATALOSS",
        "DOWNLOAD_TIMEOUT",
        "DUPEFILTER_DEBUG",
        "HTTPERROR_ALLOWED_CODES",
        "HTTPERROR_ALLOW_ALL",
        "LOG_LEVEL",
        "LOGSTATS_INTERVAL",
        "METAREFRESH_ENABLED",
        "METAREFRESH_MAXDELAY",
        "RANDOMIZE_DOWNLOAD_DELAY",
        "REDIRECT_ENABLED",
        "REDIRECT_MAX_TIMES",
        "REFERER_ENABLED",
        "RETRY_ENABLED",
        "RETRY_HTTP_CODES",
        "RETRY_PRIORITY_ADJUST",
        "RETRY_TIMES",
        "ROBOTSTXT_OBEY",
        "URLLENGTH_LIMIT",
        "USER_AGENT",
    }
)
# Scrapy settings whose default is None or an integer standing for any number (seconds), by type.
SCRAPY_KINDS = {
    "AUTOTHROTTLE_MAX_DELAY": "float",
    "AUTOTHROTTLE_START_DELAY": "float",
    "AUTOTHROTTLE_TARGET_CONCURRENCY": "float",
    "CLOSESPIDER_TIMEOUT": "float",
    "CLOSESPIDER_TIMEOUT_NO_ITEM": "float",
    "DNS_TIMEOUT": "float",
    "DOWNLOAD_DELAY": "float",
    "DOWNLOAD_TIMEOUT": "float",
    "LOGSTATS_INTERVAL": "float",
    "METAREFRESH_MAXDELAY": "float",
    "DOWNLOAD_BIND_ADDRESS": "any",
    "FEED_EXPORT_ENCODING": "str",
    "JOBDIR": "str",
    "LOG_FILE": "str",
    "ROBOTSTXT_USER_AGENT": "str",
    "ASYNCIO_EVENT_LOOP": "str",
}
SCRAPY_CHOICES = {"LOG_LEVEL": LOG_LEVELS}
# Bounds of what a rule may ask for (the project's settings may go further).
SCRAPY_MAXIMUMS = {
    "CONCURRENT_ITEMS": 1000,
    "CONCURRENT_REQUESTS": 1000,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1000,
    "CONCURRENT_REQUESTS_PER_IP": 1000,
    "DOWNLOAD_TIMEOUT": 3600,
    "REDIRECT_MAX_TIMES": 100,
    "RETRY_TIMES": 100,
}
SCRAPY_MINIMUMS = {
    "CONCURRENT_ITEMS": 1,
    "CONCURRENT_REQUESTS": 1,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "CONCURRENT_REQUESTS_PER_IP": 0,
    "DEPTH_LIMIT": 0,
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_TIMEOUT": 0,
    "DOWNLOAD_MAXSIZE": 0,
    "DOWNLOAD_WARNSIZE": 0,
    "RETRY_TIMES": 0,
    "REDIRECT_MAX_TIMES": 0,
    "CLOSESPIDER_TIMEOUT": 0,
    "CLOSESPIDER_ITEMCOUNT": 0,
    "CLOSESPIDER_PAGECOUNT": 0,
    "CLOSESPIDER_ERRORCOUNT": 0,
    "LOGSTATS_INTERVAL": 0,
}


def kind_of(value: Any) -> str:
    """A setting's type, from its default value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple | set | frozenset):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "any"


def settings_of(module: ModuleType) -> dict[str, Any]:
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


def _specs(
    module: ModuleType,
    group: str,
    *,
    rule_safe: frozenset[str] | set[str],
    kinds: dict[str, str],
    choices: dict[str, tuple],
    minimums: dict[str, float],
    maximums: dict[str, float] | None = None,
) -> list[SettingSpec]:
    specs = []
    for name, default in settings_of(module).items():
        kind = kinds.get(name) or kind_of(default)
        specs.append(
            SettingSpec(
                name,
                kind,
                nullable=default is None,
                choices=choices.get(name),
                minimum=minimums.get(name),
                maximum=(maximums or {}).get(name),
                rule_safe=name in rule_safe,
                group=group,
            )
        )
    return specs


def _float_settings(module: ModuleType) -> dict[str, str]:
    """Numbers written as floats in a defaults module take any number."""
    return {n: "float" for n, v in settings_of(module).items() if isinstance(v, float)}


@lru_cache(maxsize=1)
def catalog() -> SettingsCatalog:
    """Every setting Scrapy or a platform defaults module declares."""
    from scrapy.settings import default_settings

    specs = _specs(
        default_settings,
        "scrapy",
        rule_safe=SCRAPY_RULE_SAFE,
        kinds={**_float_settings(default_settings), **SCRAPY_KINDS},
        choices=SCRAPY_CHOICES,
        minimums=SCRAPY_MINIMUMS,
        maximums=SCRAPY_MAXIMUMS,
    )
    for name in GROUPS:
        module = importlib.import_module(name)
        specs += _specs(
            module,
            name,
            rule_safe=getattr(module, "rule_safe", set()),
            kinds={**_float_settings(module), **getattr(module, "kinds", {})},
            choices=getattr(module, "choices", {}),
            minimums=getattr(module, "minimums", {}),
            maximums=getattr(module, "maximums", {}),
        )
    return SettingsCatalog(specs)


_TRUE, _FALSE = ("True", "true"), ("False", "false")
# Settings naming an entry of a registry setting a project may extend: on a command line, the
# names registered there are allowed besides the catalog's choices (the built-in ones).
CHOICES_FROM = {"CAPTCHA_SOLVER": "CAPTCHA_SOLVERS"}


def _from_text(kind: str, text: str) -> Any:
    """``text`` read as Scrapy's getter for ``kind`` reads it (getbool, getint, getfloat,
    getdict); ValueError when it cannot be. Lists and strings take any text (``getlist`` splits
    it; list settings holding JSON are parsed by their component)."""
    if kind == "bool":
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        try:
            return bool(int(text))
        except ValueError:
            raise ValueError("expected true or false (or 1/0)") from None
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {text[:40]!r}") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text[:40]!r}") from None
    if kind == "dict":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ValueError('expected a JSON object, e.g. {"NAME": "VALUE"}')
        return value
    return text


def value_from_text(kind: str, text: str) -> Any:
    """``text`` (an environment variable's, a file's) as the value of a setting of ``kind``: read
    as a command line's ``-s`` is, and JSON for a list or an untyped setting when it looks like
    JSON; ValueError when it cannot be.

    >>> value_from_text("int", "3"), value_from_text("list", '["a", "b"]')
    (3, ['a', 'b'])
    >>> value_from_text("list", "a,b")
    'a,b'
    """
    if kind in ("list", "any") and text.lstrip()[:1] in ("[", "{"):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"expected JSON, got {text[:40]!r}") from None
        if kind == "list" and not isinstance(value, list):
            raise ValueError('expected a JSON list, e.g. ["a", "b"]')
        return value
    return _from_text(kind, text)


def command_line_problems(
    given: Mapping[str, Any],
    known: Container[str] = (),
    registered: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """``NAME: what is wrong`` for each setting given on a command line that the catalog does not
    know (nor ``known``, e.g. the project's own settings) or whose value does not fit its type,
    choices or minimum. Text is read as the setting's getter will read it; an empty text unsets a
    setting that may be None. The maximums are a rule's bounds, not the command line's.
    ``registered`` holds, for a setting of :data:`CHOICES_FROM`, the names its registry has.

    >>> command_line_problems({"DOWNLOAD_DELAY": "0.5", "RETRY_TIMES": "x"})
    ["RETRY_TIMES: expected an integer, got 'x'"]
    >>> command_line_problems({"LOG_LEVEL": "LOUD"})
    ["LOG_LEVEL: must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG; got 'LOUD'"]
    >>> command_line_problems({"DOWNLOAD_DELEY": "1"})
    ["DOWNLOAD_DELEY: unknown setting (did you mean 'DOWNLOAD_DELAY'?)"]
    """
    settings = catalog()
    problems = []
    for name, value in given.items():
        spec = settings.get(name)
        if spec is None:
            if name not in known:
                problems.append(f"{name}: unknown setting{did_you_mean(name, settings.names())}")
            continue
        if isinstance(value, str):
            if value == "" and (spec.nullable or spec.kind == "any"):
                continue
            try:
                value = _from_text(spec.kind, value)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
        choices = spec.choices
        if choices is not None and name in CHOICES_FROM:
            choices = tuple(dict.fromkeys((*choices, *(registered or {}).get(name, ()))))
        message = dataclasses.replace(spec, maximum=None, choices=choices).value_problem(value)
        if message:
            problems.append(f"{name}: {message}")
    return problems
