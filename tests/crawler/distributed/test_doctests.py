"""The examples in the docstrings of the distributed, incremental and schedule modules run."""

import doctest
import importlib

import pytest

MODULES = [
    "crawler.distributed.dupefilter",
    "crawler.distributed.seen",
    "crawler.schedule.timing",
    "crawler.rules.load",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
