"""The deployment's configuration: its file and its environment, over the project's settings.

The file is YAML, a mapping of setting names to values, found through ``CRAWLER_CONFIG`` (a
path) or else at ``<state dir>/crawler.yaml`` when there is one (vocab/statedir.py); the
environment gives ``CRAWLER_<NAME>`` variables (:mod:`crawler.config.environment`). Both are
checked against the settings catalog as ``-s`` values are
(:func:`crawler.defaults.command_line_problems`): every problem is one line, a file's at its
``file:line:column``. Secrets in the file are references only (:mod:`crawler.config.secrets`).

Precedence, lowest first: defaults < the project's settings module < the file < the environment
< ``-s`` < a rule's ``settings:`` (spider priority; ``-s`` wins over a rule: Scrapy's order).
The file and the environment are applied at the end of ``crawler/settings.py``
(:func:`apply_deployment`), so every command, service and ``scrapy crawl`` subprocess reading the
project's settings sees them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.config.environment import has_setting_variables, setting_variables
from crawler.config.secrets import (
    BrokenReference,
    follow,
    inline_secret,
    is_reference,
)
from crawler.core.exitcodes import EXIT_CODES
from crawler.defaults import (
    CHOICES_FROM,
    catalog,
    command_line_problems,
    kind_of,
    value_from_text,
)
from crawler.rules.problems import did_you_mean
from crawler.rules.yamlpos import Position, YamlError, load_yaml
from vocab import mask_url
from vocab.datadir import project_root
from vocab.statedir import state_dir

CONFIG_ENV = "CRAWLER_CONFIG"
FILE_NAME = "crawler.yaml"
MAX_CONFIG_BYTES = 1024 * 1024

Paths = tuple[tuple[str | int, ...], ...]


@dataclass(frozen=True)
class Origin:
    """Where a setting's value came from: ``/etc/crawler.yaml:3:1`` or ``environment
    CRAWLER_STORE_URI``; ``hidden``: the parts of the value given by references (``()``: all
    of it), never shown."""

    where: str
    hidden: Paths = ()


@dataclass
class Deployment:
    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    from_file: int = 0  # settings the file gives
    from_environment: int = 0  # ... and the environment
    referenced: set[str] = field(default_factory=set)  # variables the file's references name


def config_path(environ: Mapping[str, str]) -> Path | None:
    """The deployment file: ``$CRAWLER_CONFIG``, else ``<state dir>/crawler.yaml`` if it is
    there, else None."""
    if environ.get(CONFIG_ENV):
        return Path(os.path.expanduser(environ[CONFIG_ENV]))
    default = state_dir(environ) / FILE_NAME
    return default if default.is_file() else None


def load_deployment(
    base: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    checkout: Path = project_root,
) -> Deployment:
    """The file's and the environment's settings over ``base`` (the project's settings module),
    checked. Nothing is applied: see :func:`apply_deployment`."""
    env = os.environ if environ is None else environ
    path = config_path(env)
    found = Deployment(path=path)
    if path is None and not has_setting_variables(env):
        return found
    known = {name for name in base if name.isupper()}
    names = set(catalog().names()) | known
    given: dict[str, tuple[Any, str]] = {}  # name -> (value, where), checked below
    if path is not None:
        _read_file(path, env, checkout, names, found, given)
    found.from_file = len(given)
    merged = {**base, **found.values}
    variables = setting_variables(env, names, merged, skip=found.referenced)
    found.warnings += variables.warnings
    for name, (variable, text) in variables.texts.items():
        where = f"environment variable {variable}"
        try:
            found.values[name] = _typed(name, text, base)
        except ValueError as exc:
            found.problems.append(f"{where}: {exc}")
            continue
        found.origins[name] = Origin(f"environment {variable}")
        given[name] = (found.values[name], where)
        found.from_environment += 1
    merged.update(found.values)
    registered = {n: _keys(merged.get(registry)) for n, registry in CHOICES_FROM.items()}
    for name, (value, where) in given.items():
        for problem in command_line_problems({name: value}, known, registered):
            if where.startswith("environment"):
                problem = problem.removeprefix(f"{name}: ")
            found.problems.append(f"{where}: {mask_url(problem)}")
    found.problems.sort(key=_file_order)
    return found


def _file_order(problem: str) -> tuple[int, int, int]:
    """The file's problems by line and column, then the environment's (in their order)."""
    parts = problem.split(":", 3)
    if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
        return 0, int(parts[1]), int(parts[2])
    return (1, 0, 0) if problem.startswith("environment") else (0, 0, 0)


def _read_file(
    path: Path,
    env: Mapping[str, str],
    checkout: Path,
    names: Container[str],
    found: Deployment,
    given: dict[str, tuple[Any, str]],
) -> None:
    shown = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        found.problems.append(f"{shown}: cannot read the deployment file: {exc.strerror}")
        return
    if len(data) > MAX_CONFIG_BYTES:
        found.problems.append(f"{shown}: larger than {MAX_CONFIG_BYTES} bytes")
        return
    try:
        content, positions = load_yaml(data.decode("utf-8"), shown)
    except UnicodeDecodeError:
        found.problems.append(f"{shown}:1:1: not UTF-8 text")
        return
    except YamlError as exc:
        message = exc.message.replace("in a rule file", "here").replace("in rules", "here")
        found.problems.append(f"{_at(shown, exc.position)}: {message}")
        return
    if content is None:
        return
    if not isinstance(content, dict):
        found.problems.append(f"{shown}:1:1: expected a mapping of setting names to values")
        return
    for name, value in content.items():
        where = _at(shown, positions.get((name,)))
        if not isinstance(name, str) or name not in names:
            hint = did_you_mean(name, sorted(str(n) for n in names)) if name else ""
            found.problems.append(f"{where}: {name}: unknown setting{hint}")
            continue
        secret = inline_secret(name, value)
        if secret:
            sub, what = secret
            at = _at(shown, positions.get((name, *sub)) or positions.get((name,)))
            found.problems.append(
                f"{at}: {name}: {what} written inline: give it as {{env: VARIABLE}} or "
                "{file: /path/outside/the/checkout}"
            )
            continue
        found.referenced |= _env_references(value)
        hidden: list[tuple[str | int, ...]] = []
        try:
            resolved = _resolve(name, value, (), env, path.parent, checkout, hidden)
        except _At as exc:
            at = _at(shown, positions.get((name, *exc.path)) or positions.get((name,)))
            found.problems.append(f"{at}: {name}: {exc}")
            continue
        found.values[name] = resolved
        found.origins[name] = Origin(where, tuple(hidden))
        given[name] = (resolved, where)


class _At(ValueError):
    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


def _resolve(
    name: str,
    value: Any,
    path: tuple[str | int, ...],
    env: Mapping[str, str],
    base_dir: Path,
    checkout: Path,
    hidden: list[tuple[str | int, ...]],
) -> Any:
    """``value`` with its references followed (their paths noted in ``hidden``); a reference
    for a whole setting is read as the setting's type, as an environment variable is."""
    if is_reference(value):
        try:
            text = follow(value, env, base_dir, checkout)
        except BrokenReference as exc:
            raise _At(str(exc), path) from None
        hidden.append(path)
        if path:
            return text
        try:
            return _typed(name, text, {})
        except ValueError as exc:  # what it refers to is a secret: not repeated here
            raise _At(f"{str(exc).split(', got')[0]} (from {_shown(value)})", path) from None
    if isinstance(value, dict):
        return {
            k: _resolve(name, v, (*path, k), env, base_dir, checkout, hidden)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _resolve(name, v, (*path, i), env, base_dir, checkout, hidden)
            for i, v in enumerate(value)
        ]
    return value


def _shown(reference: Mapping[str, str]) -> str:
    kind, target = next(iter(reference.items()))
    return f"{{{kind}: {target}}}"


def _env_references(value: Any) -> set[str]:
    if is_reference(value):
        return {value["env"]} if "env" in value else set()
    if isinstance(value, dict):
        return set().union(*map(_env_references, value.values()))
    if isinstance(value, list):
        return set().union(*map(_env_references, value))
    return set()


def _typed(name: str, text: str, base: Mapping[str, Any]) -> Any:
    """Text for setting ``name``, as its type reads it (empty: unset, when it may be None)."""
    spec = catalog().get(name)
    kind = spec.kind if spec else kind_of(base.get(name))
    if text == "" and (spec is None or spec.nullable or kind == "any"):
        return None
    return value_from_text(kind, text)


def _keys(value: Any) -> list[str]:
    return [str(k) for k in value] if isinstance(value, dict) else []


def _at(shown: str, position: Position | None) -> str:
    position = position or Position(1, 1)
    return f"{shown}:{position.line}:{position.column}"


_applied: Deployment | None = None
_warned: set[str] = set()


def apply_deployment(namespace: dict[str, Any]) -> Deployment:
    """Put the deployment's settings into the project's settings module (its ``globals()``).
    Warnings go to stderr once per process; problems end the process with exit status 2 (a
    usage error), one line each, before any command runs."""
    global _applied
    deployment = load_deployment(namespace)
    warn_once(deployment.warnings)
    if deployment.problems:
        for problem in deployment.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(EXIT_CODES["usage_error"])
    namespace.update(deployment.values)
    _applied = deployment
    return deployment


def warn_once(warnings: list[str]) -> None:
    """Each warning on stderr, once per process."""
    for warning in warnings:
        if warning not in _warned:
            _warned.add(warning)
            print(f"warning: {warning}", file=sys.stderr)


def applied_deployment(base: Mapping[str, Any]) -> Deployment:
    """What :func:`apply_deployment` applied in this process, or the deployment over ``base``
    when the settings module did not apply one."""
    return _applied if _applied is not None else load_deployment(base)
