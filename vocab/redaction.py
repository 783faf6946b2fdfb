"""Secret values kept out of everything a person or another system reads.

A :class:`Redactor` knows the secret values of one run (secret rule arguments, the environment
variables a rule refers to) and replaces each, as written and as URL-encoded, by ``***`` in any
text or JSON-like value. Values shorter than :data:`MIN_SECRET` characters are not treated as
secrets: replacing them would wreck ordinary text and hide nothing worth hiding.

>>> r = Redactor(["s3cr3t/k@y"])
>>> r.text("GET https://api.test/x?key=s3cr3t%2Fk%40y and s3cr3t/k@y")
'GET https://api.test/x?key=*** and ***'
>>> r.value({"url": "https://h/?k=s3cr3t/k@y", "n": 1, "tags": ["s3cr3t/k@y"]})
{'url': 'https://h/?k=***', 'n': 1, 'tags': ['***']}
>>> Redactor(["ab"]).text("ab cd")
'ab cd'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MIN_SECRET = 4
MASK = "***"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if not isinstance(secret, str) or len(secret) < MIN_SECRET:
                continue
            forms |= {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
        # longest first, so that no shorter form leaves part of a longer one behind
        ordered = sorted(forms, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self.pattern is not None

    def text(self, text: str) -> str:
        if self.pattern is None or not isinstance(text, str):
            return text
        return self.pattern.sub(MASK, text)

    def value(self, value: Any) -> Any:
        """``value`` with every string in it redacted (dicts, lists and tuples walked)."""
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        return value
