"""The MySQL / MariaDB push sink: each collection's items upserted into a table of its own.

The server is ``$PUSH_MYSQL_URL`` (the variable named by ``PUSH_MYSQL_URL_ENV``):
``mysql://user:pass@host:port/db`` (or ``mariadb://``; ``?table_prefix=crawl_``). The password
never leaves this module: errors are re-raised as :class:`MySqlError` with the URL masked.

A table ``{prefix}{collection}`` has fixed columns, ``_key_hash`` (sha256 of ``_key``, the
primary key), ``_key`` (the store's item key text), ``_version`` (the content hash),
``_updated_at`` (when the store last changed the item, UTC) and ``_doc`` (the whole item, as
JSON), and a column per field of the collection's item type (:meth:`MySqlSink.declare`, from
the crawl's rule): string: LONGTEXT (VARCHAR(768) and indexed for key fields), ``format: date``:
DATE, ``format: date-time``: DATETIME(6) in UTC, integer: BIGINT, number: DOUBLE, boolean:
BOOLEAN, anything else: JSON. A type that gains a field gains a column; nothing is dropped.

A batch is one transaction of ``INSERT ... ON DUPLICATE KEY UPDATE`` that changes a row only
when the incoming ``(_updated_at, _version)`` is later: a batch delivered twice leaves the
table as once, an old batch replayed never overwrites a newer row. The session is strict
(``STRICT_ALL_TABLES``...): the server refuses, and the batch fails, rather than truncate. A
value its column cannot hold (a string in a BIGINT column after a type changed) is checked
here first: stored as NULL, kept in ``_doc``, logged and counted (``push/mysql/null_values``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.push.mysql_columns import (
    FIXED,
    MAX_NAME,
    NAME,
    Column,
    column_type,
    quote,
    table_name,
    utc_datetime,
)
from crawler.push.sinks import Entry, SinkNotConfigured
from crawler.store import dumps
from vocab.masking import mask_url

logger = logging.getLogger(__name__)

SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)


class MySqlError(RuntimeError):
    """A failed delivery to MySQL, its message free of the password."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    table_prefix: str
    shown: str  # the URL with its password masked

    @classmethod
    def parse(cls, url: str, variable: str) -> Server:
        shown = mask_url(url)
        wrong = f"${variable} is not a mysql://user:pass@host:port/database URL"
        try:
            parts = urlsplit(url)
            port = parts.port or 3306
        except ValueError:
            raise SinkNotConfigured(f"{wrong} (got {shown!r})") from None
        database = unquote(parts.path.lstrip("/"))
        if parts.scheme not in ("mysql", "mariadb") or not parts.hostname or not database:
            raise SinkNotConfigured(f"{wrong} (got {shown!r})" if url else f"${variable} is unset")
        if "/" in database or len(database) > MAX_NAME:
            raise SinkNotConfigured(f"${variable}: {database!r} is not a database name")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"table_prefix"})
        if unknown:
            raise SinkNotConfigured(f"${variable}: unknown parameter(s) {', '.join(unknown)}")
        prefix = query.get("table_prefix", [""])[-1]
        if NAME.search(prefix) or len(prefix) > 32:
            raise SinkNotConfigured(f"${variable}: table_prefix may hold letters, digits and _")
        return cls(
            parts.hostname,
            port,
            unquote(parts.username or ""),
            unquote(parts.password or ""),
            database,
            prefix,
            shown,
        )


class MySqlSink:
    name = "mysql"

    def __init__(self, server: Server, timeout: float) -> None:
        self.server = server
        self.timeout = timeout
        self.connection: Any = None
        self.declared: dict[str, tuple[Mapping[str, Any], tuple[str, ...]]] = {}
        self.tables: dict[str, dict[str, Column]] = {}  # collection -> its table's columns
        self.warned: set[tuple[str, str]] = set()

    @classmethod
    def from_settings(cls, settings: Any) -> MySqlSink:
        variable = settings.get("PUSH_MYSQL_URL_ENV")
        server = Server.parse(os.environ.get(variable, ""), variable)
        return cls(server, settings.getfloat("PUSH_TIMEOUT"))

    def declare(
        self, collection: str, fields: Mapping[str, Mapping[str, Any]], key: Sequence[str] = ()
    ) -> None:
        """The item type of ``collection``: its fields become columns at the next delivery."""
        self.declared[collection] = (fields, tuple(key))
        self.tables.pop(collection, None)

    # -- delivery -----------------------------------------------------------------------------

    def deliver(self, collection: str, entries: Sequence[Entry]) -> dict[str, int]:
        try:
            connection = self.connect()
            columns = self.table(connection, collection)
            rows, nulls = self.rows(collection, columns, entries)
            with connection.cursor() as cursor:
                cursor.executemany(self.upsert(collection, columns), rows)
            connection.commit()
        except Exception as exc:
            self.forget(collection)
            raise MySqlError(self.masked(exc)) from None
        return {"null_values": nulls} if nulls else {}

    def connect(self) -> Any:
        import pymysql

        if self.connection is not None:
            try:
                self.connection.ping(reconnect=False)
                return self.connection
            except pymysql.Error:  # the server restarted, or killed the connection: a new one
                self.close()
        server = self.server
        self.connection = pymysql.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            database=server.database,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            write_timeout=self.timeout,
            sql_mode=SQL_MODE,
            init_command="SET time_zone = '+00:00'",
        )
        return self.connection

    def forget(self, collection: str) -> None:
        """After a failure: a new connection, and the table looked at again, next time."""
        self.tables.pop(collection, None)
        self.close()

    def masked(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        if self.server.password:
            text = text.replace(self.server.password, "***")
        return f"{mask_url(text)} ({self.server.shown})"

    # -- tables -------------------------------------------------------------------------------

    def table(self, connection: Any, collection: str) -> dict[str, Column]:
        """The columns of the collection's table, made (or widened) first as declared."""
        if collection in self.tables:
            return self.tables[collection]
        name = table_name(self.server.table_prefix, collection)
        fields, key = self.declared.get(collection, ({}, ()))
        wanted = self.wanted_columns(collection, fields, key)
        existing = self.read_columns(connection, name)
        with connection.cursor() as cursor:
            if not existing:
                cursor.execute(self.create(name, wanted, key))
            else:
                have = {column.lower() for column in existing}
                missing = [(c, t) for c, t in wanted.items() if c.lower() not in have]
                if missing:
                    adds = ", ".join(f"ADD COLUMN {quote(c)} {t} NULL" for c, t in missing)
                    cursor.execute(f"ALTER TABLE {quote(name)} {adds}")
                    logger.info(
                        "push to mysql: table %s gained column(s) %s",
                        name, ", ".join(c for c, _ in missing),
                    )  # fmt: skip
        columns = self.read_columns(connection, name)
        self.tables[collection] = columns
        return columns

    def wanted_columns(
        self, collection: str, fields: Mapping[str, Mapping[str, Any]], key: Sequence[str]
    ) -> dict[str, str]:
        wanted: dict[str, str] = {}
        seen = {name.lower() for name in FIXED}
        declarations = {k: {"type": "string"} for k in key if k not in fields} | dict(fields)
        for fname, declaration in declarations.items():
            if len(fname) > MAX_NAME or fname.lower() in seen:
                if (collection, fname) not in self.warned:
                    self.warned.add((collection, fname))
                    logger.warning(
                        "push to mysql: field %r of %s gets no column (name too long or taken); "
                        "it is in _doc", fname, collection,
                    )  # fmt: skip
                continue
            seen.add(fname.lower())
            wanted[fname] = column_type(declaration, key=fname in key)
        return wanted

    @staticmethod
    def create(name: str, wanted: Mapping[str, str], key: Sequence[str]) -> str:
        lines = [f"{quote(c)} {t}" for c, t in FIXED.items()]
        lines += [f"{quote(c)} {t} NULL" for c, t in wanted.items()]
        lines.append("PRIMARY KEY (`_key_hash`)")
        lines.append("KEY `_updated_at` (`_updated_at`)")
        indexed = [c for c in key if c in wanted][:4]
        if indexed:
            parts = [
                quote(c) + ("(191)" if wanted[c].startswith("VARCHAR") else "") for c in indexed
            ]
            lines.append(f"KEY `_item_key` ({', '.join(parts)})")
        return (
            f"CREATE TABLE IF NOT EXISTS {quote(name)} (\n  "
            + ",\n  ".join(lines)
            + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
        )

    def read_columns(self, connection: Any, name: str) -> dict[str, Column]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, "
                "CHARACTER_OCTET_LENGTH FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                (self.server.database, name),
            )
            rows = cursor.fetchall()
            if not rows:
                return {}
            cursor.execute(  # MariaDB's JSON is LONGTEXT with a json_valid() check
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s",
                (self.server.database, name),
            )
            checks = " ".join(str(row[0]) for row in cursor.fetchall()).lower()
        return {
            row[0]: Column.of(*row, json=f"json_valid(`{row[0].lower()}`)" in checks)
            for row in rows
        }

    # -- rows ---------------------------------------------------------------------------------

    def rows(
        self, collection: str, columns: Mapping[str, Column], entries: Sequence[Entry]
    ) -> tuple[list[tuple[Any, ...]], int]:
        data = [c for c in columns.values() if c.name not in FIXED and c.kind]
        rows, nulls = [], 0
        for entry in entries:
            item = entry["item"]
            key = str(entry["key"])
            row: list[Any] = [
                hashlib.sha256(key.encode("utf-8")).hexdigest(),
                key,
                str(entry["version"]),
                utc_datetime(item.get("_updated_at") or datetime.now(UTC)),
                dumps(item),
            ]
            for column in data:
                value, fits = column.fit(item.get(column.name))
                if not fits:
                    nulls += 1
                    self.warn(collection, column, key, item.get(column.name))
                row.append(value)
            rows.append(tuple(row))
        return rows, nulls

    def warn(self, collection: str, column: Column, key: str, value: Any) -> None:
        if (collection, column.name) in self.warned:
            return
        self.warned.add((collection, column.name))
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        logger.warning(
            "push to mysql: %s.%s (a %s column) cannot hold %s of item %s: stored NULL, the "
            "value is kept in _doc (counted as push/mysql/null_values; told once a column)",
            collection, column.name, column.kind, shown, key[:200],
        )  # fmt: skip

    def upsert(self, collection: str, columns: Mapping[str, Column]) -> str:
        data = [c.name for c in columns.values() if c.name not in FIXED and c.kind]
        names = [*FIXED, *data]
        table = quote(table_name(self.server.table_prefix, collection))
        newer = (
            "(VALUES(`_updated_at`) > `_updated_at` OR (VALUES(`_updated_at`) = `_updated_at` "
            "AND VALUES(`_version`) > `_version`))"
        )
        # Assignments run in order, each seeing the ones before: ``newer`` must read the row's
        # ``_updated_at`` and ``_version`` before they change, so they go last.
        updates = [
            f"{quote(c)} = IF({newer}, VALUES({quote(c)}), {quote(c)})"
            for c in [*data, "_doc", "_version"]
        ]
        updates.append("`_updated_at` = GREATEST(`_updated_at`, VALUES(`_updated_at`))")
        return (
            f"INSERT INTO {table} ({', '.join(quote(c) for c in names)}) "
            f"VALUES ({', '.join(['%s'] * len(names))}) "
            f"ON DUPLICATE KEY UPDATE {', '.join(updates)}"
        )

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # closing what may be broken
                connection.close()
