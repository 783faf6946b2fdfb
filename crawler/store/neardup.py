"""Near-duplicate items: the same notice reposted by several sites, found by what it says.

Pure detection, no store and no Scrapy (the store side is :mod:`crawler.store.neardup_store`):

- :func:`normalise` text: NFKC, lower case, every run of whitespace, punctuation and symbols one
  space, and no space next to a CJK character (Chinese text has none: a repost that adds some,
  or turns ``，`` into ``,``, reads the same); dates as year, month, day whichever way they
  were written (``2024年5月29日``, ``2024-05-29``, ``May 29, 2024``, ``29 May 2024``);
- :func:`signature`: a MinHash (datasketch, :data:`NUM_PERM` permutations) of the text's
  character shingles (:data:`SHINGLE` characters: this works for Chinese as for English),
  hashed in numpy, kept as an array of 32-bit values (:func:`encode` / :func:`decode` for
  storing it as text);
- :class:`NearDupIndex`: a bounded MinHashLSH index of the signatures of one item type; a new
  signature's candidates are confirmed by the estimated Jaccard similarity (the share of equal
  values) before an item counts as a near-duplicate, and it is linked to the earliest item of
  the cluster it joins.

>>> normalise("【转载】关于 2024年， 第3批！")
'转载关于2024年第3批'
>>> {normalise(d) for d in ("2024年5月29日起", "2024-05-29起", "2024/5/29 起")}
{'2024 5 29起'}
>>> {normalise(d) for d in ("May 29, 2024.", "29 May 2024", "2024-05-29", "29 may 2024")}
{'2024 5 29'}
>>> normalise("  The  NOTICE: (revised) ")
'the notice revised'
>>> a = signature(normalise("The ministry publishes the list of approved projects for 2024."))
>>> b = signature(normalise("The Ministry publishes the list of approved projects for 2024!"))
>>> c = signature(normalise("Weather: sunny, with a light breeze from the south-west."))
>>> similarity(a, b), similarity(a, c) < 0.2
(1.0, True)
>>> decode(encode(a)).tolist() == a.tolist()
True
"""

from __future__ import annotations

import base64
import inspect
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy and datasketch are imported when a signature is first made or read:
    import numpy as np  # a crawl without near_duplicates: never pays for them (scipy: ~0.4 s)

NUM_PERM = 128  # MinHash permutations: 128 values, 512 bytes a signature
SHINGLE = 5  # characters a shingle: a changed character changes this many shingles
MAX_CHARS = 20_000  # of normalised text a signature reads (a notice is far shorter)
DEFAULT_THRESHOLD = 0.8
SEED = 1
NORMALISATION = 1  # the version of normalise(): a change makes earlier signatures another kind

_SEPARATORS = re.compile(r"[\W_]+")  # whitespace, punctuation, symbols (\w: letters, digits)
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")
# dates (after the separators), as "year month day" without leading zeros
_HAS_CJK = re.compile(f"[{_CJK}]")
_ZH_DATE = re.compile(r"(\d{4}) ?年 ?(\d{1,2}) ?月 ?(\d{1,2}) ?日")  # 2024年5月29日
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{4}) (\d{1,2}) (\d{1,2})(?!\d)")  # 2024 05 29
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {
    name: str(number)
    for number, month in enumerate(_MONTH_NAMES.split(), 1)
    for name in (month, month[:3], "sept" if number == 9 else month)
}
_M = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_DATE = re.compile(  # may 29 2024, 29 may 2024, 2024 may 29: one pass
    rf"\b(?:(?P<m1>{_M}) (?P<d1>\d{{1,2}}) (?P<y1>\d{{4}})|(?P<d2>\d{{1,2}}) (?P<m2>{_M}) "
    rf"(?P<y2>\d{{4}})|(?P<y3>\d{{4}}) (?P<m3>{_M}) (?P<d3>\d{{1,2}}))\b"
)


def _ymd(match: re.Match[str]) -> str:
    year, month, day = match.groups()
    return f"{year} {int(month)} {int(day)}"


def _en_ymd(match: re.Match[str]) -> str:
    i = next(i for i in "123" if match[f"y{i}"])
    return f"{match[f'y{i}']} {_MONTHS[match[f'm{i}']]} {int(match[f'd{i}'])}"


@cache
def minhash_scheme() -> dict[str, Any]:
    """datasketch 2 names its permutation scheme (and changed the default); datasketch 1.6 has
    one scheme only, the one 2.x calls ``legacy``."""
    from datasketch import MinHash

    if "scheme" in inspect.signature(MinHash).parameters:
        return {"scheme": "affine32"}
    return {}


@cache
def signature_version() -> str:
    """What a stored signature was computed with: one of another kind is never compared."""
    return f"{minhash_scheme().get('scheme', 'legacy')}/{NUM_PERM}/{SHINGLE}/n{NORMALISATION}"


_PERMUTATIONS: Any = None


def normalise(text: str) -> str:
    """The text as compared: NFKC, lower case, separators collapsed, dates in one form (see the
    module)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _SEPARATORS.sub(" ", text).strip()
    cjk = _HAS_CJK.search(text) is not None
    if cjk and "年" in text:
        text = _ZH_DATE.sub(lambda match: _ymd(match) + " ", text)
    text = _NUMERIC_DATE.sub(_ymd, text)
    if not cjk:
        return _EN_DATE.sub(_en_ymd, text).strip()
    return _CJK_SPACE.sub("", text).strip()


def item_text(item: Mapping[str, Any], fields: Sequence[str]) -> str:
    """The values of ``fields`` of an item as one text (lists and objects by their values).

    >>> item_text({"title": "A", "content": ["b", {"c": 1}], "n": None}, ["title", "content", "n"])
    'A\\nb\\n1'
    """
    parts: list[str] = []
    for name in fields:
        _texts(item.get(name), parts)
    return "\n".join(parts)


def _texts(value: Any, out: list[str]) -> None:
    if value is None or value == "":
        return
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for part in value:
            _texts(part, out)
        return
    out.append(str(value))


def shingle_hashes(text: str, k: int = SHINGLE) -> np.ndarray:
    """The distinct 32-bit hashes of the text's ``k``-character shingles (a text shorter than
    ``k`` is one shingle), computed in numpy: a polynomial of the code points, mixed."""
    import numpy as np

    codes = np.frombuffer(text[:MAX_CHARS].encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    count = len(codes) - k + 1
    if count < 1:
        count, k = 1, len(codes)
    h = np.zeros(count, dtype=np.uint64)
    for j in range(k):  # wraps around at 64 bits, as a hash may
        h = h * np.uint64(0x100000001B3) + codes[j : j + count]
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return np.unique((h & np.uint64(0xFFFFFFFF)).astype(np.uint32))


def _identity(value: Any) -> Any:
    return value


def signature(text: str) -> np.ndarray | None:
    """The MinHash of normalised ``text`` as :data:`NUM_PERM` 32-bit values; None for no text."""
    import numpy as np
    from datasketch import MinHash

    global _PERMUTATIONS
    if not text:
        return None
    if _PERMUTATIONS is None:  # drawn once: every signature uses the same permutations
        _PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, **minhash_scheme()).permutations
    sketch = MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        hashfunc=_identity,
        permutations=_PERMUTATIONS,
        **minhash_scheme(),
    )
    # The hashes are given as one value, the whole array, which the identity "hashes": datasketch
    # turns the list of hash values into an array (n x 1) either way, so every permutation is
    # applied to all of them at once instead of calling a hash function per shingle in Python
    # (tests/crawler/store/test_neardup.py pins that both give the same signature).
    sketch.update_batch([shingle_hashes(text)])
    return sketch.hashvalues.astype(np.uint32)  # legacy values are below 2**32 too


def text_signature(item: Mapping[str, Any], fields: Sequence[str]) -> np.ndarray | None:
    """The signature of an item's ``fields`` (None when they hold no text)."""
    return signature(normalise(item_text(item, fields)))


def encode(sig: np.ndarray) -> str:
    """A signature as base64 text (684 characters)."""
    return base64.b64encode(sig.astype("<u4").tobytes()).decode("ascii")


def decode(text: Any) -> np.ndarray | None:
    """A signature from :func:`encode`'s text; None when it is not one."""
    import numpy as np

    try:
        raw = base64.b64decode(str(text), validate=True)
    except ValueError:
        return None
    if len(raw) != NUM_PERM * 4:
        return None
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two signatures: the share of equal values."""
    import numpy as np

    return float(np.count_nonzero(a == b)) / len(a)


class _Sketch:
    """What MinHashLSH reads of a MinHash: its values and its length."""

    __slots__ = ("hashvalues",)

    def __init__(self, values: np.ndarray) -> None:
        self.hashvalues = values

    def __len__(self) -> int:
        return len(self.hashvalues)


@dataclass(frozen=True)
class Ref:
    """An item: its collection, its key (as text, ``_key``) and when it was first seen (ISO)."""

    collection: str
    key: str
    seen: str = ""

    @property
    def ident(self) -> tuple[str, str]:
        return self.collection, self.key

    def link(self) -> dict[str, str]:
        """What a near-duplicate carries in ``_duplicate_of``."""
        return {"collection": self.collection, "key": self.key}


@dataclass
class Entry:
    ref: Ref
    sig: np.ndarray
    root: Ref | None  # the earliest item of its cluster, when it is not that item
    version: str = ""  # the item's content hash when it was indexed


class NearDupIndex:
    """The signatures of one item type, the most recent :attr:`max_entries` of them (older ones
    are forgotten first), behind a MinHashLSH index at ``threshold``.

    >>> index = NearDupIndex(0.8, max_entries=2)
    >>> text = "the notice on the 2024 list of approved projects, published today"
    >>> first, later = Ref("ministry", '["m/1"]', "t1"), Ref("city", '["c/9"]', "t2")
    >>> index.add(first, signature(text))
    >>> index.match(later, signature(text + "!")).link()
    {'collection': 'ministry', 'key': '["m/1"]'}
    >>> index.add(later, signature(text), root=first)
    >>> index.match(Ref("town", '["t/3"]', "t3"), signature(text)).key  # the earliest, again
    '["m/1"]'
    >>> index.add(Ref("x", '["x"]', "t4"), signature("another story")); len(index)
    2
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, max_entries: int = 10_000) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.max_entries = max(1, max_entries)
        # Bands weighed for recall: a candidate the LSH misses is lost, one too many costs a
        # comparison of signatures (~2 µs). At 0.8: 16 bands of 8 rows find a pair at 0.8 with
        # a probability of 0.95 (the balanced default, 9 of 13: 0.40), one at 0.5 with 0.06.
        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=(0.05, 0.95))
        self.entries: OrderedDict[tuple[str, str], Entry] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, collection: str, key: str) -> Entry | None:
        return self.entries.get((collection, key))

    def match(self, ref: Ref, sig: np.ndarray) -> Ref | None:
        """The earliest item of the cluster ``sig`` joins (None: it is no near-duplicate of
        any item indexed, or that earliest item is ``ref`` itself). Candidates of the LSH are
        kept when their estimated similarity reaches the threshold."""
        best: Ref | None = None
        for ident in self.lsh.query(_Sketch(sig)):
            entry = self.entries.get(ident)
            if ident == ref.ident or entry is None:
                continue
            if similarity(sig, entry.sig) < self.threshold:
                continue
            root = entry.root or entry.ref
            if root.ident == ref.ident:
                continue  # it is the earliest of this cluster itself
            if best is None or (root.seen, root.ident) < (best.seen, best.ident):
                best = root
        return best

    def add(self, ref: Ref, sig: np.ndarray, root: Ref | None = None, version: str = "") -> None:
        """Index an item (again: its earlier signature is replaced); forget the oldest items
        beyond :attr:`max_entries`."""
        ident = ref.ident
        if ident in self.entries:
            self.entries.pop(ident)
            self.lsh.remove(ident)
        self.lsh.insert(ident, _Sketch(sig), check_duplication=False)
        self.entries[ident] = Entry(ref, sig, root, version)
        while len(self.entries) > self.max_entries:
            old, _ = self.entries.popitem(last=False)
            self.lsh.remove(old)

    def add_all(self, entries: Iterable[Entry]) -> None:
        """Index entries given oldest first (what :meth:`add` does one by one)."""
        for entry in entries:
            self.add(entry.ref, entry.sig, entry.root, entry.version)
