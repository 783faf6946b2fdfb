"""Run the examples in the cleaners' docstrings as part of the suite (CI runs `pytest -q`)."""

import doctest
import importlib

import pytest

MODULES = [
    "cleaners.registry",
    "cleaners.text",
    "cleaners.numeric",
    "cleaners.dates",
    "cleaners.urls",
    "cleaners.lists",
    "cleaners.itemtypes",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
