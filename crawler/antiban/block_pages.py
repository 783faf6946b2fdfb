"""Block and challenge pages told from content pages by the page itself: the patterns that make
a page a suspect, the shape that makes a suspect a block, and the evidence of both.

Words such as "captcha", "verify you are human" or "access denied", vendor scripts and captcha
images turn up in ordinary articles, forums and documentation, and in the comment forms of
content pages; walls are short pages with hardly a link. So a page is read in steps, each
cheaper than the next and each driven by settings (crawler/defaults/antiban.py, and
``CAPTCHA_MARKERS`` in crawler/defaults/render.py), on its first ``BAN_SCAN_CHARS`` characters:

1. *links*: the ``<a`` tags are counted; a page with more than ``BAN_BLOCK_LINKS_MAX`` is no
   block page, and nothing more is read (most content pages end here, at the cost of a count);
2. *suspects*: the page is searched for captcha images (``CAPTCHA_MARKERS``), the challenge
   markup of known vendors (``BAN_CHALLENGE_MARKERS``, by name) and block phrases
   (``BAN_MARKERS`` + ``BAN_EXTRA_MARKERS``), in that order. Python's regexes are slow on
   alternations, so a pattern runs only where its literals (:func:`needles`, found once from the
   pattern) occur in the lowercased page. Nothing matched: not a block;
3. *shape*: a suspect is parsed (once) and its visible text measured (bytes of UTF-8 outside
   scripts and styles; a Chinese character counts three). It is shaped like a block when it
   was read whole and has at most ``BAN_BLOCK_TEXT_MAX`` bytes of text.

A :class:`Finding` is the evidence a verdict is logged with: which rule matched (``captcha``, a
vendor's name, or ``marker``) and its pattern, the text it matched, where (the offset, and
whether in a tag, a script, the title or the text; for a captcha image, the form it is in and
the text input beside it), and the page's shape.

>>> pages = BlockPages(challenge_markers={"datadome": r"captcha-delivery\\.com"},
...                    markers=[r"access denied"], captcha_markers=[r"<img\\b[^>]*captcha"],
...                    scan_chars=200_000, text_max=1000, links_max=12)
>>> wall = pages.examine("<title>Access denied</title><p>Sorry.</p>")
>>> wall.block, wall.reason, str(wall)
(True, 'marker', "marker /access denied/ matched 'Access denied' at 7 in <title>; a block-shaped page: 6 bytes of text, 0 links")
>>> pages.examine('<script src="https://ct.captcha-delivery.com/c.js"></script>').signal
'datadome'
>>> article = "<article>" + "<p>Why access denied pages annoy readers.</p>" * 80 + "</article>"
>>> pages.examine(article).block, pages.examine("<p>Nothing to see.</p>")
(False, None)
>>> pages.examine('<a href="/">Home</a> ' * 13 + "<p>Access denied</p>") is None  # 13 links
True
"""

from __future__ import annotations

import re
import re._parser as sre_parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from lxml import html as lxml_html

_TEXT_INPUTS = ("text", "search", "tel", "number", "")
_INVISIBLE = "ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
_VISIBLE_TEXT = etree.XPath(f"//body//text()[not({_INVISIBLE})]")
_TAG_NAME = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)")
_LINK = re.compile(r"<a\s", re.IGNORECASE)
_SHOWN = 80  # characters of matched text kept as evidence


def compile_patterns(patterns: Iterable[str], what: str) -> list[re.Pattern[str]]:
    """Regexes, case-insensitive; a bad one is a ValueError naming the setting."""
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p, re.IGNORECASE))
        except (re.error, TypeError) as exc:
            raise ValueError(f"{what}: bad regular expression {p!r}: {exc}") from None
    return out


@dataclass(frozen=True)
class Finding:
    """What the patterns found in a page, where, and whether the page is shaped like a block."""

    signal: str  # the rule that matched: "captcha", a BAN_CHALLENGE_MARKERS name, or "marker"
    pattern: str  # its regex
    text: str  # what it matched, whitespace collapsed, at most 80 characters
    position: int  # character offset in the page
    where: str  # in a tag, a script, the title or the text; a captcha image: its form
    text_bytes: int  # visible text of the page, bytes of UTF-8
    links: int  # <a> tags
    block: bool  # shaped like a block: a wall, unless the page has what its page type expects
    scanned_whole: bool = True

    @property
    def reason(self) -> str:
        """The verdict's reason: ``captcha`` (a solver may take it) or ``marker``."""
        return "captcha" if self.signal == "captcha" else "marker"

    @property
    def shape(self) -> str:
        links = f"{self.links} link" + ("" if self.links == 1 else "s")
        size = f"{self.text_bytes} bytes of text, {links}"
        if not self.scanned_whole:
            return f"a page longer than BAN_SCAN_CHARS ({size} in the part read)"
        return f"a block-shaped page: {size}" if self.block else f"a long page: {size}"

    def __str__(self) -> str:
        rule = (
            self.signal
            if self.signal not in ("captcha", "marker")
            else f"{self.signal} /{self.pattern}/"
        )
        return f"{rule} matched {self.text!r} at {self.position} {self.where}; {self.shape}"


class BlockPages:
    """The patterns and bounds of block pages, compiled once; :meth:`examine` reads one page."""

    def __init__(
        self,
        *,
        challenge_markers: Mapping[str, str],
        markers: Iterable[str],
        captcha_markers: Iterable[str],
        scan_chars: int,
        text_max: int,
        links_max: int,
    ) -> None:
        if not isinstance(challenge_markers, Mapping):
            raise ValueError("BAN_CHALLENGE_MARKERS: expected a mapping of name to regex")
        # An empty pattern would match every page: it switches its entry off instead.
        self.captcha = compile_patterns(filter(None, captcha_markers), "CAPTCHA_MARKERS")
        rules = [("captcha", p) for p in self.captcha]
        for name, pattern in challenge_markers.items():
            if pattern:
                [compiled] = compile_patterns([pattern], f"BAN_CHALLENGE_MARKERS[{name!r}]")
                rules.append((str(name), compiled))
        rules += [("marker", p) for p in compile_patterns(filter(None, markers), "BAN_MARKERS")]
        # (signal, pattern, the literals one of which any match holds, lowercased; None: any)
        self.rules = [(signal, p, needles(p)) for signal, p in rules]
        self.scan_chars = scan_chars
        self.text_max = text_max
        self.links_max = links_max

    def __bool__(self) -> bool:
        return bool(self.rules)

    def examine(self, text: str) -> Finding | None:
        """None when no pattern matches; else the first match (captcha images, vendors, phrases)
        and the page's shape."""
        head = text[: self.scan_chars]
        links = 0
        for _ in _LINK.finditer(head):  # counted only up to the bound: a content page stops early
            links += 1
            if links > self.links_max:
                return None
        hit = self._first_match(head)
        if hit is None:
            return None
        signal, pattern, match = hit
        whole = len(text) <= self.scan_chars
        root = _parse(head)
        text_bytes = _text_bytes(root)
        where = _where(head, match.start())
        if signal == "captcha" and root is not None:
            where = self._captcha_form(root) or where
        return Finding(
            signal=signal,
            pattern=pattern.pattern,
            text=" ".join(match.group(0).split())[:_SHOWN],
            position=match.start(),
            where=where,
            text_bytes=text_bytes,
            links=links,
            block=whole and text_bytes <= self.text_max,
            scanned_whole=whole,
        )

    def _first_match(self, head: str) -> tuple[str, re.Pattern[str], re.Match[str]] | None:
        lowered = head.lower()
        for signal, pattern, literals in self.rules:
            if literals is not None and not any(n in lowered for n in literals):
                continue
            match = pattern.search(head)
            if match is not None:
                return signal, pattern, match
        return None

    def _captcha_form(self, root: etree._Element) -> str | None:
        """Where the first captcha image is: in which form, beside which text input."""
        for img in root.iter("img"):
            tag = "<img " + " ".join(f'{k}="{v}"' for k, v in img.attrib.items()) + ">"
            if not any(p.search(tag) for p in self.captcha):
                continue
            form = next(img.iterancestors("form"), None)
            scope = form if form is not None else root
            names = [
                i.get("name") or i.get("id") or "?"
                for i in scope.iter("input")
                if (i.get("type") or "").lower() in _TEXT_INPUTS
            ]
            image = f"captcha image {(img.get('src') or '')[:_SHOWN]!r}"
            beside = f"beside text input {names[0]!r}" if names else "with no text input"
            if form is None:
                return f"({image} outside a form, {beside})"
            method = (form.get("method") or "get").upper()
            action = (form.get("action") or "")[:_SHOWN]
            return f"(a challenge form {method} {action!r}: {image} {beside})"
        return None


def needles(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lowercased literals one of which every match of ``pattern`` contains (the longest such
    set found), or None when the pattern requires none that can be told.

    >>> needles(re.compile(r"_cf_chl_opt|cf-chl-|<title>\\s*Just a moment", re.I))
    ('_cf_chl_opt', 'cf-chl-', 'just a moment')
    >>> needles(re.compile(r"<img\\b[^>]*captcha")), needles(re.compile(r"\\d+|x"))
    (('captcha',), None)
    """
    try:
        found = _required(list(sre_parse.parse(pattern.pattern, pattern.flags)))
    except Exception:  # a construct the parser of this Python reads otherwise: no prefilter
        return None
    return tuple(sorted({n.lower() for n in found})) if found else None


def _required(items: list[Any]) -> set[str] | None:
    """For a sequence of parsed items: the best set of literals one of which a match holds."""
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(arg))
            continue
        if name == "AT":  # zero-width (\b, ^, $): the literals around it are adjacent
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        found = None
        if name == "SUBPATTERN":
            found = _required(list(arg[-1]))
        elif name == "BRANCH":
            branches = [_required(list(branch)) for branch in arg[1]]
            if all(branches):
                found = set().union(*branches)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and arg[0] >= 1:
            found = _required(list(arg[2]))
        if found:
            candidates.append(found)
    if run:
        candidates.append({"".join(run)})
    # The set whose shortest literal is longest is the rarest to meet by chance.
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)), default=None)


def _parse(head: str) -> etree._Element | None:
    try:
        return lxml_html.document_fromstring(
            head.encode("utf-8", "replace"), parser=lxml_html.HTMLParser(encoding="utf-8")
        )
    except (etree.ParserError, ValueError):  # nothing but whitespace or comments
        return None


def _text_bytes(root: etree._Element | None) -> int:
    """Bytes of visible text, whitespace collapsed."""
    if root is None:
        return 0
    words = " ".join(str(t) for t in _VISIBLE_TEXT(root)).split()
    return len(" ".join(words).encode("utf-8"))


def _where(head: str, pos: int) -> str:
    """Whether ``pos`` is in a tag, in a script, style or title element, or in the text."""
    lt, gt = head.rfind("<", 0, pos + 1), head.rfind(">", 0, pos)
    if lt > gt:
        name = _TAG_NAME.match(head, lt)
        return f"in a <{name.group(1).lower()}> tag" if name else "in a tag"
    before = head[max(0, pos - 100_000) : pos].lower()
    for element in ("script", "style", "title"):
        if before.rfind(f"<{element}") > before.rfind(f"</{element}"):
            return f"in <{element}>"
    return "in the text"
