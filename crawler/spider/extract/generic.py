"""Generic extraction (``extract: article`` / ``extract: product``; the fields are listed in
crawler/rules/generic.py): what a page holds, found without selectors, by maintained libraries.

- **article**: trafilatura (main text, title, author, categories and tags, lead image, with
  htmldate for the dates: the published date, and the last update when the page shows a later
  one), the body also as clean HTML (trafilatura's HTML output: no scripts, styles, navigation,
  comments), links to attachments in the main text and the page's language (``<html lang>``,
  else trafilatura's guess).
- **product** (:mod:`.products`): schema.org ``Product`` in JSON-LD, then in microdata (extruct), then OpenGraph
  (``og:title``, ``product:price:amount``...), then the page itself (the ``<h1>``, an element
  whose class or ``itemprop`` says price, read by price-parser).

Pages over ``GENERIC_MAX_BYTES`` of text are not read (a problem of the page, counted); a
library's failure on a page is a problem of that page too, never the crawl's. Nothing here
fetches anything: the libraries get the page's text, with no network access.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from copy import deepcopy
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.rules.generic import GENERIC_FIELDS
from crawler.spider.extract.inputs import ExtractError, PageInput
from crawler.spider.extract.products import first_text, product

logger = logging.getLogger(__name__)

GENERIC_MAX_BYTES = 4 * 1024 * 1024
ATTACHMENT = re.compile(
    r"\.(pdf|docx?|xlsx?|pptx?|odt|ods|odp|rtf|csv|zip|rar|7z|tar|gz|wps|et)$", re.I
)


def extract_generic(kind: str, page: PageInput) -> dict[str, Any]:
    """The generic values of ``page`` (``kind``: article or product); raises ExtractError
    (``generic_failed``, ``generic_too_large``) when they cannot be read."""
    text = page.text
    if len(text) > GENERIC_MAX_BYTES:
        raise ExtractError(
            "generic_too_large",
            f"page over {GENERIC_MAX_BYTES} characters: extract: {kind} not tried",
        )
    try:
        return KINDS[kind](page, text)
    except ExtractError:
        raise
    except Exception as exc:  # a library's failure on one page is that page's problem
        raise ExtractError(
            "generic_failed", f"extract: {kind}: {type(exc).__name__}: {exc}"
        ) from exc


# --- article --------------------------------------------------------------------------------


def article(page: PageInput, text: str) -> dict[str, Any]:
    import trafilatura  # here: crawls without generic extraction never import it
    from htmldate import find_date
    from trafilatura.htmlprocessing import build_html_output

    root = page.root()
    document = trafilatura.bare_extraction(
        code_as_code(root),
        url=page.url,
        with_metadata=True,
        include_tables=True,
        include_links=False,  # the text as text: links would be written [so](url) in it
        include_comments=False,
        deduplicate=False,
    )
    values: dict[str, Any] = dict.fromkeys(GENERIC_FIELDS["article"])
    values["tags"] = []
    values["attachments"] = attachments(root, page.url)
    values["language"] = _language(root)
    if document is None:
        values["title"] = first_text(root, "//h1") or first_text(root, "//title")
        return values
    data = document.as_dict()
    title = headline(root, (data.get("title") or "").strip() or None, data.get("sitename"))
    body = (data.get("text") or "").strip()
    first, _, rest = body.partition("\n")
    if title and first.strip() == title:  # the headline is the title's, not the body's
        body = rest.lstrip()
    values.update(
        title=title,
        author=(data.get("author") or "").strip() or None,
        body=body or None,
        image=urljoin(page.url, data["image"]) if data.get("image") else None,
        tags=_tags(data),
        language=values["language"] or data.get("language"),
    )
    # a date the page labels as the publication's (发布时间：2024年05月29日) beats a guess; the
    # page's own dates beat its URL's (a post shown as of May 15 under /2018/05/14/)
    page_date = find_date(text, original_date=True, extensive_search=True, url=None)
    published = labelled_date(text, LABELLED_DATE) or page_date or data.get("date")
    published = published or labelled_date(text, LABELLED_DATE_EN)
    values["published"] = published
    if published:
        updated = find_date(text, original_date=False, url=page.url, extensive_search=False)
        values["updated"] = updated if updated and updated > published else None
    if body:
        html = build_html_output(document)
        inner = BODY.match(html)
        values["body_html"] = inner.group(1).strip() if inner else html
    return values


BODY = re.compile(r"^\s*<html>\s*<body>(.*)</body>\s*</html>\s*$", re.S)


DATE_AFTER = (
    r"\s*[:：]?\s*(?:<[^>]{0,200}>\s*){0,3}(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})"
)
# Chinese pages say what their date is; trusted over a guess. English labels only fill a gap.
LABELLED_DATE = re.compile(r"(?:发布时间|发布日期|发文日期|成文日期|日期)" + DATE_AFTER)
LABELLED_DATE_EN = re.compile(r"(?:Published|Posted on|Date)" + DATE_AFTER, re.I)


def labelled_date(text: str, label: re.Pattern[str]) -> str | None:
    """The first date the page labels (in its first 200,000 characters), as YYYY-MM-DD."""
    match = label.search(text, 0, 200_000)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    if not (1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def code_as_code(root: Any) -> Any:
    """A copy of the page where each block of code laid out as a table (a column of line
    numbers beside the code: Hexo, Hugo's Chroma, Pygments) is the code alone, which the main
    text keeps whole; the page itself is left as it is."""
    tables = root.xpath("//table[.//pre]")
    if not tables:
        return root
    copy = deepcopy(root)
    for table in copy.xpath("//table[.//pre]"):
        code = table.xpath("(.//td[last()]//pre)[last()]") or table.xpath("(.//pre)[last()]")
        parent = table.getparent()
        if code and parent is not None:
            code[0].tail = table.tail
            parent.replace(table, code[0])
            if parent.tag == "figure":  # a figure is an image to the main-text reader
                parent.tag = "div"
    return copy


def headline(root: Any, title: str | None, site: str | None = None) -> str | None:
    """The article's own headline: the page's one ``<h1>`` (else an ``<h2>``) when the title
    the metadata gives is that headline with the site's name before or after it ("Project:
    Headline", "Site - Headline"); the metadata's title otherwise. A heading that is the
    site's name (``og:site_name``, ``<title>``'s other part) is never the headline."""
    heads = [_heading_text(h) for h in root.xpath("//h1")]
    if len(heads) != 1:
        heads = [_heading_text(h) for h in root.xpath("//h2")[:30]]
    names = {(site or "").strip().lower()} | {
        str(n).strip().lower() for n in root.xpath("//meta[@property='og:site_name']/@content")
    }
    heads = [h for h in heads if len(h) >= 4 and h.lower() not in names]
    if not title:
        return heads[0] if len(heads) == 1 else None
    for head in heads:
        if head != title and (title.endswith(head) or title.startswith(head)):
            return head
        for separator in (": ", " - ", " | ", " – ", " — ", " :: ", "_"):
            if separator not in title:
                continue
            after = title.split(separator, 1)[1].strip()
            before = title.rsplit(separator, 1)[0].strip()
            if any(len(side) >= 4 and head.startswith(side) for side in (after, before)):
                return head  # "Site: Short title" of the headline "Short title - and more"
    return title


def _heading_text(element: Any) -> str:
    parts = [element.text or ""]
    for child in element:
        if "headerlink" not in (child.get("class") or ""):  # the ¶ anchor of docs engines
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _tags(data: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    for key in ("categories", "tags"):
        value = data.get(key) or []
        for tag in value if isinstance(value, list) else str(value).split(","):
            tag = str(tag).strip()
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def attachments(root: Any, base: str) -> list[str]:
    """Links to files (PDF, office documents, archives) anywhere in the page, absolute, once."""
    found: list[str] = []
    for href in root.xpath("//a/@href"):
        href = str(href).strip()
        try:
            path = urlsplit(href).path
        except ValueError:
            continue
        if ATTACHMENT.search(path):
            url = urljoin(base, href)
            if url not in found:
                found.append(url)
    return found[:100]


def _language(root: Any) -> str | None:
    for lang in root.xpath("/html/@lang | /html/@xml:lang", namespaces=XML_NS):
        value = str(lang).strip()
        if value:
            return value
    return None


XML_NS = {"xml": "http://www.w3.org/XML/1998/namespace"}


KINDS: dict[str, Callable[[PageInput, str], dict[str, Any]]] = {
    "article": article,
    "product": product,
}

__all__ = ["GENERIC_MAX_BYTES", "extract_generic"]
