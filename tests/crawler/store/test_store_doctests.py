"""The examples in the store layer's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "crawler.store.base",
    "crawler.store.documents",
    "crawler.store.sqlite",
    "crawler.store.mongo",
    "crawler.store.browse",
    "crawler.store.sqlite_search",
    "crawler.store.mongo_search",
    "crawler.store.postgres",
    "crawler.store.postgres_columns",
    "crawler.store.postgres_reader",
    "crawler.store.postgres_schema",
    "crawler.store.postgres_search",
    "crawler.store.backends",
    "crawler.commands.export",
    "crawler.runs.recorder",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
