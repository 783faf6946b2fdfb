"""The examples in the proxies package's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "proxies.model",
    "proxies.scoring",
    "proxies.store",
    "proxies.validator",
    "proxies.sources",
    "proxies.settings",
    "proxies.anonymity",
    "proxies.parsing",
    "vocab.masking",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
