"""Requests as data in Redis: JSON of Scrapy's ``Request.to_dict``, never pickle.

Whoever can write to the crawl's Redis can put anything in the queue. With scrapy-redis's
default serializer (pickle) that was code execution on every worker; here an entry is JSON, read
by :func:`json.loads` and checked field by field before a request is built from it, so the worst
a forged entry can do is be a request (http or https, a callback the spider defines itself).

The format is ``Request.to_dict(spider=...)`` with the conversions JSON needs, made explicit:

- ``headers``: names and values as latin-1 text (lossless for bytes);
- ``body``: base64;
- ``callback``/``errback``: method names, as Scrapy writes them; on reading, only a plain method
  the spider's class defines (``parse`` included, Spider's other methods and dunders not);
- ``_class``: only Scrapy's ``FormRequest`` and ``JsonRequest`` (no class is ever loaded by name);
- ``meta``: each value must be plain JSON data (str, int, float, bool, None, lists, tuples as
  lists, dicts with str keys): a key whose value is anything else is left out, and reported;
- ``cookies``, ``cb_kwargs``, ``flags``: plain JSON data too, or the request is refused;
- ``v``: the format's version (1).

>>> from scrapy import Request
>>> data, refused = encode(Request("https://a.test/x", meta={"page": 2, "seen": {1, 2}}))
>>> refused, data[:40]
([('seen', 'set')], b'{"v":1,"url":"https://a.test/x","callbac')
>>> r = decode(data)
>>> r.url, r.meta
('https://a.test/x', {'page': 2})
>>> decode(b"\\x80\\x04K\\x01.")
Traceback (most recent call last):
...
crawler.distributed.request_json.BadEntry: pickle data (never unpickled)
"""

from __future__ import annotations

import base64
import binascii
import codecs
import inspect
import json
import math
import re
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import FormRequest, JsonRequest

VERSION = 1
MAX_ENTRY_BYTES = 4 * 1024 * 1024  # one queued request; a bigger entry is refused both ways
MAX_DEPTH = 32  # nesting of meta, cookies and cb_kwargs values
# The request classes an entry may name; anything else is refused, never imported.
CLASSES: dict[str, type[Request]] = {
    f"{cls.__module__}.{cls.__name__}": cls for cls in (FormRequest, JsonRequest)
}
FIELDS = {
    "v", "url", "callback", "errback", "headers", "body", "cookies", "meta", "encoding",
    "flags", "cb_kwargs", "method", "priority", "dont_filter",
}  # fmt: skip
OPTIONAL = {"_class", "dumps_kwargs"}
METHOD = re.compile(r"^[A-Z]{1,16}$")
NAME = re.compile(r"^(?!__)[A-Za-z_][A-Za-z0-9_]{0,99}$")  # no dunder
_SCALARS = (str, int, float, bool, type(None))


class Unserializable(ValueError):
    """A request that cannot be written as data (refused: never queued)."""


class BadEntry(ValueError):
    """A queue entry that is not a request this format describes (dropped: never run)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NotPlain(ValueError):
    pass


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data (tuples become lists); _NotPlain naming the first type
    that is not."""
    kind = type(value)
    if kind in _SCALARS:
        if kind is float and not math.isfinite(value):
            raise _NotPlain("non-finite float")
        return value
    if depth >= MAX_DEPTH:
        raise _NotPlain(f"nesting deeper than {MAX_DEPTH}")
    if kind in (list, tuple):
        return [plain(v, depth + 1) for v in value]
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise _NotPlain("dict with non-str keys")
        return {k: plain(v, depth + 1) for k, v in value.items()}
    raise _NotPlain(kind.__name__)


def _latin1(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def encode(request: Request, spider: Spider | None = None) -> tuple[bytes, list[tuple[str, str]]]:
    """The entry of ``request`` and the meta keys left out with why ``[(key, type name)]``;
    :class:`Unserializable` when it cannot be written at all."""
    try:
        d = request.to_dict(spider=spider)
    except ValueError as exc:  # a callback that is not a method of the spider
        raise Unserializable(str(exc)) from None
    return _entry(d)


def dumps(d: dict[str, Any]) -> bytes:
    """scrapy-redis's serializer interface (``SCHEDULER_SERIALIZER``): the entry of a
    ``Request.to_dict``; meta values that are not JSON data are left out."""
    return _entry(dict(d))[0]


def loads(data: bytes | str) -> dict[str, Any]:
    """scrapy-redis's serializer interface: the checked dict ``request_from_dict`` takes (bytes
    restored, ``_class`` one of :data:`CLASSES`). Callback names are checked against a spider
    by :func:`decode` only, which the platform's queue uses."""
    d = _parsed(data)
    kwargs, cls = _fields(d)
    if cls is not Request:
        kwargs["_class"] = d["_class"]
    return kwargs


def _entry(d: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]]]:
    cls = d.pop("_class", None)
    if cls is not None and cls not in CLASSES:
        raise Unserializable(f"request class {cls} cannot be queued (only {', '.join(CLASSES)})")
    meta, refused = {}, []
    for key, value in d["meta"].items():
        try:
            meta[key if type(key) is str else _refuse_key(key)] = plain(value)
        except _NotPlain as exc:
            refused.append((str(key), str(exc)))
    out: dict[str, Any] = {"v": VERSION, "url": d["url"], "callback": d["callback"],
                           "errback": d["errback"]}  # fmt: skip
    out["headers"] = {_latin1(k): [_latin1(v) for v in vs] for k, vs in d["headers"].items()}
    out["body"] = base64.b64encode(d["body"]).decode("ascii")
    out["meta"] = meta
    try:
        for name in ("cookies", "cb_kwargs", "flags", "encoding", "method", "priority"):
            out[name] = plain(d[name])
        out["dont_filter"] = bool(d["dont_filter"])
        if cls is not None:
            out["_class"] = cls
            if "dumps_kwargs" in d:
                out["dumps_kwargs"] = plain(d["dumps_kwargs"])
    except _NotPlain as exc:
        raise Unserializable(f"a value that is not JSON data ({exc})") from None
    data = json.dumps(out, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    encoded = data.encode("utf-8")
    if len(encoded) > MAX_ENTRY_BYTES:
        raise Unserializable(f"{len(encoded)} bytes, more than {MAX_ENTRY_BYTES}")
    return encoded, refused


def _refuse_key(key: Any) -> str:
    raise _NotPlain(f"key of type {type(key).__name__}")


def decode(data: bytes | str, spider: Spider | None = None) -> Request:
    """The request an entry describes; :class:`BadEntry` with the reason for anything else.
    Nothing in ``data`` is executed, imported or unpickled."""
    kwargs, cls = _fields(_parsed(data))
    kwargs["callback"] = _method(spider, kwargs["callback"], "callback")
    kwargs["errback"] = _method(spider, kwargs["errback"], "errback")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise BadEntry(f"not a valid request: {type(exc).__name__}") from None


def _parsed(data: bytes | str) -> dict[str, Any]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_ENTRY_BYTES:
        raise BadEntry(f"{len(data)} bytes, more than {MAX_ENTRY_BYTES}")
    if data[:1] == b"\x80":
        raise BadEntry("pickle data (never unpickled)")
    try:
        d = json.loads(data)
    except (ValueError, RecursionError):
        raise BadEntry("not JSON") from None
    if not isinstance(d, dict) or d.get("v") != VERSION:
        raise BadEntry(f"not a request entry of format {VERSION}")
    keys = set(d)
    if not keys >= FIELDS or keys - FIELDS - OPTIONAL:
        raise BadEntry("fields missing or unknown")
    return d


def _fields(d: dict[str, Any]) -> tuple[dict[str, Any], type[Request]]:
    """The keyword arguments of the request ``d`` describes, checked, and its class."""
    url = _typed(d, "url", str)
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        raise BadEntry("url: not http or https")
    method = _typed(d, "method", str)
    if not METHOD.match(method):
        raise BadEntry("method")
    headers = _typed(d, "headers", dict)
    if not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in headers.values()
    ):
        raise BadEntry("headers")
    try:
        body = base64.b64decode(_typed(d, "body", str), validate=True)
        byte_headers = {
            k.encode("latin-1"): [x.encode("latin-1") for x in v] for k, v in headers.items()
        }
        codecs.lookup(_typed(d, "encoding", str))
    except (binascii.Error, UnicodeEncodeError, LookupError) as exc:
        raise BadEntry(f"body, headers or encoding: {type(exc).__name__}") from None
    priority = d["priority"]
    if type(priority) is not int or abs(priority) > 2**31:
        raise BadEntry("priority")
    flags = _typed(d, "flags", list)
    if not all(isinstance(f, str) for f in flags):
        raise BadEntry("flags")
    for name in ("callback", "errback"):
        if d[name] is not None and not (isinstance(d[name], str) and NAME.match(d[name])):
            raise BadEntry(f"{name}: not a method name")
    kwargs: dict[str, Any] = {
        "url": url, "method": method, "headers": byte_headers, "body": body,
        "cookies": _typed(d, "cookies", (dict, list)), "meta": _typed(d, "meta", dict),
        "encoding": d["encoding"], "priority": priority, "flags": flags,
        "dont_filter": _typed(d, "dont_filter", bool), "cb_kwargs": _typed(d, "cb_kwargs", dict),
        "callback": d["callback"], "errback": d["errback"],
    }  # fmt: skip
    cls: type[Request] = Request
    if "_class" in d:
        if d["_class"] not in CLASSES:
            raise BadEntry("_class: not a request class that may be queued")
        cls = CLASSES[d["_class"]]
    if "dumps_kwargs" in d:
        if cls is not JsonRequest:
            raise BadEntry("dumps_kwargs without JsonRequest")
        kwargs["dumps_kwargs"] = _typed(d, "dumps_kwargs", dict)
    return kwargs, cls


def _typed(d: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = d[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadEntry(f"{name}: wrong type")
    return value


def _method(spider: Spider | None, name: Any, what: str) -> Any:
    """The spider's method ``name``: a plain function its class defines (Spider's own methods
    other than ``parse`` are not callbacks, nor dunders), bound to the spider."""
    if name is None:
        return None
    if spider is None:
        raise BadEntry(f"{what}: no spider to find it on")
    defined = inspect.getattr_static(type(spider), name, None)
    inherited = name != "parse" and name in vars(Spider)
    if not inspect.isfunction(defined) or inherited:
        raise BadEntry(f"{what}: {name!r} is not a callback of the spider")
    return getattr(spider, name)
