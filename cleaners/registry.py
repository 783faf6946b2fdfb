"""The cleaner registry: named, pure value normalisers referenced from YAML.

A cleaner is a function ``fn(value, *, arg1, arg2=default, ...)`` whose arguments are
keyword-only. One that needs the page URL or the crawl time declares a keyword-only ``ctx``
parameter and receives a :class:`CleanContext` (``ctx`` is not a YAML argument).

A rule names a *chain* of cleaners per field::

    clean: strip                                   # one name: a one-element chain
    clean: [strip, {regex_sub: {pattern: '\\s*\\(.*\\)'}}, to_int]
    clean: [{default: "n/a"}]                       # shorthand for the primary argument

An item in the chain is a name, or a one-key mapping ``{name: args}``. ``args`` is

* a mapping of keyword arguments when all its keys are parameter names of the cleaner (or when
  the cleaner's primary argument cannot take a mapping, so that a misspelt key is reported);
* otherwise the value of the cleaner's *primary argument*: its single required argument, or,
  when it has none, its first parameter (``{join: ", "}``, ``{split: ","}``);
* ``null``: no arguments (``- strip:`` in YAML).

:meth:`Registry.check` reports every problem of a chain without raising, as ``(index, message)``
pairs where ``index`` is the position in the chain list (0 for a chain written as one name).
:meth:`Registry.compile` turns a valid chain into a :class:`Chain`, a callable that is cheap to
run per item: arguments are bound and regular expressions compiled once.

Values are ``None``, ``str``, ``int``/``float``, ``bool`` or a list of those. A cleaner applies to
each element of a list, and ``None`` (the value or an element) passes through untouched, unless
the cleaner is registered with ``whole_list=True`` (``first``, ``join``, ``default`` ...): those
receive the value as it is, ``None`` and lists included.

>>> chain = REGISTRY.compile(["strip", {"regex": r"(\\d+) items"}, "to_int"])
>>> chain("  42 items ")
42
>>> chain([" 1 items", None, "2 items"])
[1, None, 2]
>>> REGISTRY.check(["strp", {"regex_sub": {"pattern": "(", "repl": ""}}])
[(0, "unknown cleaner 'strp' (did you mean 'strip'?)"), (1, "cleaner 'regex_sub': invalid regular expression '(': missing ), unterminated subpattern at position 0")]
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from cleaners.signatures import Cleaner, Param, bind, read_signature
from cleaners.value_preview import preview

__all__ = [
    "REGISTRY",
    "Chain",
    "ChainError",
    "CleanContext",
    "CleanError",
    "Cleaner",
    "Param",
    "Registry",
    "chain_names",
    "cleaner",
    "load_modules",
    "preview",
]


class CleanError(ValueError):
    """A cleaner could not make sense of a value; the message says why.

    When raised by a :class:`Chain`, ``cleaner`` names the failing cleaner, ``index`` is its
    position in the chain and ``value`` is the value it was given.
    """

    def __init__(
        self,
        message: str,
        *,
        cleaner: str | None = None,
        index: int | None = None,
        value: Any = None,
    ) -> None:
        super().__init__(message)
        self.cleaner = cleaner
        self.index = index
        self.value = value


class ChainError(ValueError):
    """A cleaner chain is invalid; ``problems`` holds the ``(index, message)`` pairs."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"[{i}] {message}" for i, message in problems))


@dataclass(frozen=True)
class CleanContext:
    """What a cleaner may know about where a value comes from.

    ``url`` is the page URL (to make links absolute); ``crawl_time`` the reference for relative
    dates such as ``3天前`` (timezone-aware UTC when given).
    """

    url: str | None = None
    crawl_time: datetime | None = None


_EMPTY_CONTEXT = CleanContext()
# -- chains -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    index: int
    name: str
    run: Callable[..., Any]  # the cleaner with its arguments bound
    whole_list: bool
    wants_ctx: bool

    def __call__(self, value: Any, ctx: CleanContext) -> Any:
        if self.whole_list:
            return self._call(value, ctx)
        return self._each(value, ctx)

    def _each(self, value: Any, ctx: CleanContext) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return [self._each(v, ctx) for v in value]
        return self._call(value, ctx)

    def _call(self, value: Any, ctx: CleanContext) -> Any:
        try:
            return self.run(value, ctx=ctx) if self.wants_ctx else self.run(value)
        except ValueError as exc:  # CleanError, or a project cleaner's plain ValueError
            raise self._error(value, str(exc)) from exc
        except Exception as exc:  # a bug or an unexpected type in a cleaner: still name it
            raise self._error(value, f"{type(exc).__name__}: {exc}") from exc

    def _error(self, value: Any, reason: str) -> CleanError:
        shown = preview(value)
        # Cleaners quote the value in their own messages; quote it here when they did not.
        where = "" if shown in reason else f" failed on {shown}"
        return CleanError(
            f"cleaner {self.name!r}{where}: {reason}",
            cleaner=self.name,
            index=self.index,
            value=value,
        )


class Chain:
    """A compiled cleaner chain: ``chain(value, ctx=None)`` runs the cleaners in order.

    Raises :class:`CleanError` naming the cleaner that failed and the value it was given.
    """

    __slots__ = ("_steps", "spec")

    def __init__(self, steps: Sequence[_Step], spec: Any = None) -> None:
        self._steps = tuple(steps)
        self.spec = spec

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._steps]

    def __call__(self, value: Any, ctx: CleanContext | None = None) -> Any:
        ctx = ctx or _EMPTY_CONTEXT
        for step in self._steps:
            value = step(value, ctx)
        return value

    def __len__(self) -> int:
        return len(self._steps)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"Chain({self.names!r})"


# -- the registry -----------------------------------------------------------------------------


class Registry:
    """Cleaners by name: register them, check chains written in YAML, compile chains."""

    def __init__(self) -> None:
        self._cleaners: dict[str, Cleaner] = {}

    def register(
        self,
        name: str,
        fn: Callable[..., Any] | None = None,
        *,
        whole_list: bool = False,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> Any:
        """Register ``fn`` as cleaner ``name``; without ``fn``, return a decorator.

        Raises ``TypeError`` when the signature is not ``fn(value, *, kwargs...)`` and
        ``ValueError`` when another function already has the name.
        """
        if fn is None:
            return lambda f: self.register(name, f, whole_list=whole_list, prepare=prepare)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"invalid cleaner name {name!r} (use letters, digits and _)")
        existing = self._cleaners.get(name)
        if existing is not None and not _same_function(existing.fn, fn):
            raise ValueError(
                f"cleaner {name!r} is already registered by {_qualname(existing.fn)}; "
                f"cannot register {_qualname(fn)} under the same name"
            )
        params, wants_ctx = read_signature(name, fn)
        self._cleaners[name] = Cleaner(name, fn, whole_list, prepare, params, wants_ctx)
        return fn

    def get(self, name: str) -> Cleaner:
        """The cleaner called ``name``; ``KeyError`` with a did-you-mean when there is none."""
        try:
            return self._cleaners[name]
        except KeyError:
            raise KeyError(
                f"unknown cleaner {name!r}{_did_you_mean(name, self._cleaners)}"
            ) from None

    def names(self) -> list[str]:
        """The registered cleaner names, sorted."""
        return sorted(self._cleaners)

    def __contains__(self, name: object) -> bool:
        return name in self._cleaners

    def check(self, spec: Any) -> list[tuple[int, str]]:
        """Every problem of the chain ``spec`` as ``(index, message)``; never raises.

        ``index`` is the position of the faulty item in the chain list, 0 when the chain is a
        single name or has the wrong shape altogether. An empty list means the chain compiles.
        """
        problems: list[tuple[int, str]] = []
        for index, item in enumerate(_items(spec, problems)):
            _, messages = self._resolve(item)
            problems.extend((index, m) for m in messages)
        return problems

    def compile(self, spec: Any) -> Chain:
        """Compile ``spec`` into a :class:`Chain`; raise :class:`ChainError` if it is invalid."""
        problems: list[tuple[int, str]] = []
        steps = []
        for index, item in enumerate(_items(spec, problems)):
            resolved, messages = self._resolve(item)
            problems.extend((index, m) for m in messages)
            if resolved is not None and not messages:
                entry, kwargs = resolved
                run = partial(entry.fn, **kwargs) if kwargs else entry.fn
                steps.append(_Step(index, entry.name, run, entry.whole_list, entry.wants_ctx))
        if problems:
            raise ChainError(problems)
        return Chain(steps, spec)

    def _resolve(self, item: Any) -> tuple[tuple[Cleaner, dict[str, Any]] | None, list[str]]:
        """Look up one chain item and bind its arguments: ``((cleaner, kwargs), problems)``."""
        if isinstance(item, str):
            name, args = item, None
        elif isinstance(item, Mapping):
            if len(item) != 1:
                keys = ", ".join(repr(k) for k in item) or "none"
                return None, [
                    "a cleaner with arguments is a mapping with one key, the cleaner's name "
                    f"(e.g. {{regex: '\\d+'}}); got keys {keys}"
                ]
            ((name, args),) = item.items()
            if not isinstance(name, str):
                return None, [f"a cleaner name must be a string, got {preview(name)}"]
        else:
            return None, [
                f"expected a cleaner name or a {{name: arguments}} mapping, got {preview(item)}"
            ]
        if name not in self._cleaners:
            return None, [f"unknown cleaner {name!r}{_did_you_mean(name, self._cleaners)}"]
        entry = self._cleaners[name]
        kwargs, problems = bind(entry, args)
        if problems:
            return None, problems
        if entry.prepare is not None:
            try:
                kwargs = entry.prepare(dict(kwargs))
            except (ValueError, TypeError) as exc:
                return None, [f"cleaner {name!r}: {exc}"]
            except Exception as exc:  # a project cleaner's prepare with a bug: check never raises
                return None, [f"cleaner {name!r}: {type(exc).__name__}: {exc}"]
        return (entry, kwargs), []


def _same_function(old: Callable[..., Any], new: Callable[..., Any]) -> bool:
    # A reloaded module re-registers new function objects under the same qualified name.
    return old is new or (_qualname(old) == _qualname(new) and "<" not in _qualname(new))


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _items(spec: Any, problems: list[tuple[int, str]]) -> list[Any]:
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, list | tuple):
        return list(spec)
    if isinstance(spec, Mapping):
        return [spec]  # a lone {name: args} is a one-element chain too
    problems.append(
        (0, f"a cleaner chain is a cleaner name or a list of cleaners, got {preview(spec)}")
    )
    return []


def chain_names(spec: Any) -> tuple[str, ...]:
    """The names of the cleaners in a chain as written (whatever their arguments, known or not).

    >>> chain_names(["strip", {"regex": "([0-9]+)"}, {"default": None}]), chain_names("join")
    (('strip', 'regex', 'default'), ('join',))
    """
    names = []
    for item in _items(spec, []):
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and len(item) == 1:
            names.extend(name for name in item if isinstance(name, str))
    return tuple(names)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


REGISTRY = Registry()


def cleaner(
    name: str,
    *,
    whole_list: bool = False,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a function as cleaner ``name`` in :data:`REGISTRY`.

    >>> @cleaner("shout")
    ... def shout(value, *, mark: str = "!"):
    ...     '''Upper-case and exclaim.'''
    ...     return value.upper() + mark
    >>> REGISTRY.compile([{"shout": "!!"}])("hi")
    'HI!!'
    """
    return REGISTRY.register(name, whole_list=whole_list, prepare=prepare)


def load_modules(names: Iterable[str]) -> None:
    """Import project modules (dotted names) so that their ``@cleaner`` functions register.

    The crawler calls this with its ``PLUGIN_MODULES`` setting. Raises ``ImportError`` naming
    the module that failed to import and why.
    """
    if isinstance(names, str):
        names = [names]
    for module in names:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ImportError(
                f"cannot load cleaner module {module!r}: {type(exc).__name__}: {exc}",
                name=module,
            ) from exc


BUILTIN_MODULES = (
    "cleaners.text",
    "cleaners.numeric",
    "cleaners.dates",
    "cleaners.urls",
    "cleaners.lists",
)
load_modules(BUILTIN_MODULES)
