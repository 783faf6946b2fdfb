"""A project cleaner module, loaded by dotted name in the tests (as PLUGIN_MODULES would)."""

from cleaners import cleaner


@cleaner("isbn13")
def isbn13(value, *, strict: bool = True):
    """Keep the digits of an ISBN-13.

    >>> isbn13("978-0-13-468599-1")
    '9780134685991'
    """
    digits = "".join(c for c in value if c.isdigit())
    if strict and len(digits) != 13:
        raise ValueError(f"not an ISBN-13: {value!r}")
    return digits
