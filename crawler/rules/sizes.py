"""Sizes as rules write them: a number of bytes, or text such as ``500MB`` or ``2GiB``.

>>> parse_size("500MB"), parse_size("1.5 GiB"), parse_size(2048)
(500000000, 1610612736, 2048)
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([KMGT])(i?))?B\s*")
#: The JSON Schema pattern of a size written as text.
SIZE_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*([KMGT]i?)?B\s*$"


def parse_size(value: str | int) -> int:
    """Bytes in a size: an integer, or text such as ``500MB`` or ``2GiB``."""
    if isinstance(value, int):
        return value
    match = SIZE.fullmatch(value)
    if match is None:
        raise ValueError(f"not a size: {value!r} (use 500MB, 2GB or 1GiB)")
    number, prefix, binary = match.groups()
    prefix = prefix or ""
    unit = 1024 ** ("KMGT".index(prefix) + 1) if binary else _UNITS[prefix]
    return int(float(number) * unit)
