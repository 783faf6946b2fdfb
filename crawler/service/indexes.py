"""Which fields an item listing may be sorted and filtered by, and the indexes that serve them:
declared by the project, never asked for by a query, so a GET changes nothing in the store.

A collection's fields are:

- the store's own: ``_crawled_at`` (``since``/``until``), ``_updated_at`` (the change feed),
  ``_first_seen``;
- with ``SERVICE_INDEX_ITEM_TYPES``, every field of the item types the project's rules store
  into it (``rules/types/``, through each rule's routes), but object and array fields, and
  ``_duplicate_of`` when such a type compares near-duplicates (``duplicates=only|hide``);
- ``SERVICE_INDEXES[collection]``: field names, or lists of fields for one compound index
  (equality filters first, the sort field last);
- what an admin added (``POST /api/admin/indexes``), kept in ``SERVICE_DATA_DIR/indexes.json``,
  at most ``SERVICE_ADMIN_INDEX_MAX`` per collection.

Each is served by an index (one per field, one per compound list). The service's background
thread creates the missing ones (:meth:`Indexes.reconcile`) for collections that exist, once per
process (``CREATE INDEX IF NOT EXISTS``; MongoDB's ``create_index`` likewise does nothing when
the index is there). A listing naming any other field is a 400 naming the fields it may use.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from crawler.rules.routing import item_routes
from crawler.store import DUPLICATE_OF_FIELD, Store, check_field

logger = logging.getLogger(__name__)

BUILTIN_FIELDS = ("_crawled_at", "_first_seen", "_updated_at")
ADMIN_FILE = "indexes.json"
MAX_FILE = 1_000_000
MAX_COMPOUND = 8  # fields of one index
NAMED_MAX = 40  # fields an error message names
NOT_INDEXED_TYPES = frozenset({"object", "array"})

Index = tuple[str, ...]


class UnknownField(ValueError):
    """A sort or filter field the collection is not indexed for; the message names the others."""


class IndexLimit(ValueError):
    """An index an admin may not add; the message says why."""


def index_of(entry: Any, where: str) -> Index:
    """An index from a field name or a list of field names; ValueError saying what is wrong."""
    fields = [entry] if isinstance(entry, str) else entry
    if not isinstance(fields, list | tuple) or not 0 < len(fields) <= MAX_COMPOUND:
        raise ValueError(f"{where}: an index is a field name or a list of 1 to {MAX_COMPOUND}")
    try:
        out = tuple(check_field(f) for f in fields)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: a field is named twice in {list(out)}")
    return out


def declared(spec: Mapping[str, Any], where: str) -> dict[str, list[Index]]:
    """``{collection: [index, ...]}`` of ``SERVICE_INDEXES`` (or the admins' file)."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where} maps collections to lists of fields")
    out: dict[str, list[Index]] = {}
    for collection, entries in spec.items():
        if not isinstance(entries, list | tuple):
            raise ValueError(f"{where}[{str(collection)[:100]!r}] is a list of fields")
        name = f"{where}[{str(collection)[:100]!r}]"
        out[str(collection)] = [index_of(e, name) for e in entries]
    return out


def item_type_fields(ruleset: Any) -> dict[str, set[str]]:
    """Per collection, the fields of the item types the rules store into it."""
    fields: dict[str, set[str]] = {}
    types = ruleset.item_types
    for rule in ruleset.rules.values():
        used = {rule.target(page).type for page in rule.pages} | {rule.item.type}
        routes = item_routes(rule, {k: v for k, v in types.items() if k in used})
        for route in routes.values():
            if route.item_type is None:
                continue
            if route.item_type.near_duplicates is not None:  # listings' duplicates=only|hide
                fields.setdefault(route.collection, set()).add(DUPLICATE_OF_FIELD)
            for name, spec in route.item_type.fields.items():
                kind = spec.get("type") if isinstance(spec, Mapping) else None
                if kind in NOT_INDEXED_TYPES:
                    continue
                try:
                    fields.setdefault(route.collection, set()).add(check_field(name))
                except ValueError:  # a name a query could not name anyway
                    continue
    return fields


class Indexes:
    """The listing fields and indexes of every collection (``app.state.indexes``)."""

    def __init__(
        self, settings: Any, *, item_types: bool, indexes: Mapping[str, Any], data_dir: Path,
        admin_max: int,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.item_types = item_types
        self.declared = declared(indexes, "SERVICE_INDEXES")
        self.path = Path(data_dir) / ADMIN_FILE
        self.admin_max = admin_max
        self.lock = threading.Lock()
        self.ensured: set[tuple[str, Index]] = set()
        self._typed: tuple[Any, dict[str, set[str]]] | None = None
        self._admin: tuple[tuple[int, int], dict[str, list[Index]]] | None = None
        self._rules_error: str | None = None

    # -- what is declared ---------------------------------------------------------------------

    def typed_fields(self) -> dict[str, set[str]]:
        if not self.item_types:
            return {}
        from crawler.spider import project_rules

        try:
            ruleset = project_rules(self.settings)
        except Exception as exc:  # a broken plugin module: the rules listing reports it
            if str(exc) != self._rules_error:
                self._rules_error = str(exc)
                logger.warning("item types unknown to the listings: %s", str(exc)[:300])
            return {}
        cached = self._typed
        if cached is not None and cached[0] is ruleset:
            return cached[1]
        fields = item_type_fields(ruleset)
        self._typed = (ruleset, fields)
        return fields

    def admin(self) -> dict[str, list[Index]]:
        """What admins added (the file as it is now)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._admin is not None and self._admin[0] == stamp:
            return self._admin[1]
        try:
            if stat.st_size > MAX_FILE:
                raise ValueError(f"over {MAX_FILE:,} bytes")
            found = declared(json.loads(self.path.read_text("utf-8")).get("indexes", {}), "file")
        except (OSError, ValueError, AttributeError) as exc:
            logger.warning("%s is not an index file, ignored: %s", self.path, str(exc)[:200])
            found = {}
        self._admin = (stamp, found)
        return found

    def plan(self, collection: str) -> list[Index]:
        """Every index of ``collection``, in order: the store's fields, the item types', the
        settings', the admins'."""
        out: dict[Index, None] = {(f,): None for f in BUILTIN_FIELDS}
        out.update({(f,): None for f in sorted(self.typed_fields().get(collection, ()))})
        out.update(dict.fromkeys(self.declared.get(collection, [])))
        out.update(dict.fromkeys(self.admin().get(collection, [])))
        return list(out)

    def fields(self, collection: str) -> list[str]:
        """The fields a listing of ``collection`` may sort and filter by."""
        return sorted({field for index in self.plan(collection) for field in index})

    def check(self, collection: str, names: Iterable[str]) -> None:
        """UnknownField for the first of ``names`` the collection has no index for."""
        allowed = set(self.fields(collection))
        for name in names:
            if name not in allowed:
                shown = sorted(allowed)
                listed = ", ".join(shown[:NAMED_MAX])
                if len(shown) > NAMED_MAX:
                    listed += f" and {len(shown) - NAMED_MAX} more (GET /api/collections)"
                raise UnknownField(
                    f"cannot sort or filter {collection!r} by {name[:128]!r}: it has an index "
                    f"for {listed} (more: SERVICE_INDEXES, or an admin's POST /api/admin/indexes)"
                )

    # -- what is done ---------------------------------------------------------------------------

    def add(self, collection: str, fields: list[str]) -> bool:
        """Record an admin's index (False: it was there). IndexLimit past the limit."""
        index = index_of(fields, "fields")
        with self.lock:
            current = {k: list(v) for k, v in self.admin().items()}
            mine = current.setdefault(collection, [])
            if index in mine or index in self.plan(collection):
                return False
            if len(mine) >= self.admin_max:
                raise IndexLimit(
                    f"{collection!r} has the {self.admin_max} indexes admins may add "
                    "(SERVICE_ADMIN_INDEX_MAX); declare more in SERVICE_INDEXES"
                )
            mine.append(index)
            self._write(current)
        return True

    def forget(self, collection: str) -> int:
        """Forget the indexes of a dropped collection: those an admin added (how many), and
        which this process created (made again if the collection comes back)."""
        with self.lock:
            current = {k: list(v) for k, v in self.admin().items()}
            gone = current.pop(collection, [])
            if gone:
                self._write(current)
            self.ensured = {done for done in self.ensured if done[0] != collection}
        return len(gone)

    def _write(self, indexes: dict[str, list[Index]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = {"indexes": {k: [list(i) for i in v] for k, v in sorted(indexes.items())}}
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(self.path)

    def ensure(self, store: Store, collection: str, index: Index) -> bool:
        """Create ``index`` unless this process did; False when the collection is not there."""
        if (collection, index) in self.ensured:
            return True
        if not store.ensure_index(collection, list(index)):
            return False
        self.ensured.add((collection, index))
        logger.debug("index on %s (%s) in place", collection, ", ".join(index))
        return True

    def reconcile(self, store: Store, collections: Iterable[str]) -> int:
        """Create every planned index missing in ``collections``; how many were created."""
        made = 0
        for collection in collections:
            # the text index (``q=``): kept in sync by the store once built
            if (collection, ("$text",)) not in self.ensured and store.ensure_search(collection):
                self.ensured.add((collection, ("$text",)))
            for index in self.plan(collection):
                if (collection, index) not in self.ensured and self.ensure(
                    store, collection, index
                ):
                    made += 1
        return made
