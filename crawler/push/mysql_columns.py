"""MySQL / MariaDB tables for the push sink (:mod:`crawler.push.mysql_sink`): table names,
the column an item type's field declaration becomes, and how a value is made to fit a column
as the table has it (or found not to fit)."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from crawler.store import dumps

KEY_LENGTH = 768  # characters of a key column (VARCHAR); its index covers the first 191
MAX_NAME = 64  # MySQL's limit on table and column names
FIXED = {
    "_key_hash": "CHAR(64) NOT NULL",
    "_key": "TEXT NOT NULL",
    "_version": "VARCHAR(128) NOT NULL",
    "_updated_at": "DATETIME(6) NOT NULL",
    "_doc": "JSON NOT NULL",
}
NAME = re.compile(r"[^A-Za-z0-9_]")
_INT_RANGE = (-(2**63), 2**63 - 1)


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def table_name(prefix: str, collection: str) -> str:
    """``prefix + collection`` with what MySQL dislikes replaced, at most 64 characters (a
    long name ends with a hash of itself, so two long names stay apart).

    >>> table_name("crawl_", "news-items.cn")
    'crawl_news_items_cn'
    >>> len(table_name("", "x" * 100))
    64
    """
    name = NAME.sub("_", prefix + collection)
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 9] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name


def column_type(declaration: Mapping[str, Any], key: bool = False) -> str:
    """The SQL type of a column for an item type's field declaration (a JSON Schema).

    >>> column_type({"type": "integer"}), column_type({"type": ["number", "null"]})
    ('BIGINT', 'DOUBLE')
    >>> column_type({"type": "string", "format": "date"}), column_type({"type": "string"}, key=True)
    ('DATE', 'VARCHAR(768)')
    >>> column_type({"type": "array", "items": {"type": "string"}}), column_type({})
    ('JSON', 'JSON')
    """
    declared = declaration.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    types = [t for t in types if t != "null"]
    if not types and "enum" in declaration:
        enum = [v for v in declaration["enum"] if v is not None]
        types = ["string"] if enum and all(isinstance(v, str) for v in enum) else []
    if len(types) != 1:
        return "JSON"
    kind = types[0]
    if kind == "string":
        fmt = declaration.get("format")
        if fmt == "date":
            return "DATE"
        if fmt == "date-time":
            return "DATETIME(6)"
        return f"VARCHAR({KEY_LENGTH})" if key else "LONGTEXT"
    return {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}.get(kind, "JSON")


@dataclass(frozen=True)
class Column:
    """A column as the table has it: how a value is made to fit it."""

    name: str
    kind: str  # int, float, bool, date, datetime, text, json; "" for columns left alone
    chars: int = 0  # text: the most characters, and bytes, it holds
    octets: int = 0

    @classmethod
    def of(cls, name: str, data_type: str, column_type: str, chars: Any, octets: Any, json: bool):
        data_type = data_type.lower()
        if json or data_type == "json":
            kind = "json"
        elif data_type == "tinyint" and column_type.lower().startswith("tinyint(1)"):
            kind = "bool"
        elif data_type in ("tinyint", "smallint", "mediumint", "int", "bigint"):
            kind = "int"
        elif data_type in ("double", "float", "decimal"):
            kind = "float"
        elif data_type in ("date", "datetime", "timestamp"):
            kind = "date" if data_type == "date" else "datetime"
        elif data_type in ("char", "varchar", "tinytext", "text", "mediumtext", "longtext"):
            kind = "text"
        else:
            kind = ""
        return cls(name, kind, int(chars or 0), int(octets or 0))

    def fit(self, value: Any) -> tuple[Any, bool]:
        """``(value for the column, True)``, or ``(None, False)`` when it cannot hold it."""
        if value is None:
            return None, True
        try:
            fitted = _FIT[self.kind](self, value)
        except (ValueError, TypeError, OverflowError, UnicodeError):
            return None, False
        return fitted, True


def _int(column: Column, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    number = int(value)
    if not _INT_RANGE[0] <= number <= _INT_RANGE[1]:
        raise OverflowError(value)
    return number


def _float(column: Column, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _bool(column: Column, value: Any) -> int:
    if isinstance(value, bool) or value in (0, 1):
        return int(value)
    raise TypeError(value)


def _date(column: Column, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def utc_datetime(value: Any) -> datetime:
    """A date-time as naive UTC (a date-only value is its midnight).

    >>> utc_datetime("2026-03-01T10:00:00.5+08:00"), utc_datetime("2026-03-01")
    (datetime.datetime(2026, 3, 1, 2, 0, 0, 500000), datetime.datetime(2026, 3, 1, 0, 0))
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value)
    else:
        raise TypeError(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if moment.year < 1000:
        raise ValueError(value)  # outside DATETIME's range
    return moment


def _text(column: Column, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(value)
    text = value if isinstance(value, str) else str(value)
    if column.chars and len(text) > column.chars:
        raise ValueError("too long")
    if column.octets and len(text.encode("utf-8")) > column.octets:
        raise ValueError("too long")
    return text


def _json(column: Column, value: Any) -> str:
    return dumps(value)


_FIT = {
    "int": _int,
    "float": _float,
    "bool": _bool,
    "date": _date,
    "datetime": lambda column, value: utc_datetime(value),
    "text": _text,
    "json": _json,
}
