"""Point-and-click selectors for the rule editor: a sanitized snapshot of a page, and selectors
proposed for the element clicked in it.

Both fetch the page the way the editor's preview does (``scrapy preview`` on the rule being
edited, through :func:`crawler.service.rulefiles.run_preview`: its time, output and concurrency
bounds, its URL policy), keeping the body it fetched (``--save`` into the preview's temporary
directory, gone with it).

- ``POST /api/rules/{name}/snapshot``: the page as HTML with every script, style, frame, object,
  embed, link, meta, form action, URL and event-handler attribute removed, each element marked
  with its ``data-pick`` path (the indexes of its element children from ``<html>`` down: ``0.1.3``).
  The dashboard shows it in an ``<iframe sandbox="allow-same-origin" srcdoc=...>``: no script of
  the page runs, and the page's own script reads the clicked element's path.
- ``POST /api/rules/{name}/pick``: ``{"url", "path": [0, 1, 3], "samples": [url...]}``: the
  element at ``path`` on the page as fetched again, the selectors
  :func:`crawler.spider.repair.candidates` proposes for it (most robust first), each with the
  text it selects on the page and on every sample page.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from cssselect import HTMLTranslator
from fastapi import APIRouter, HTTPException, Request
from lxml import etree
from lxml import html as lxml_html
from lxml_html_clean import Cleaner
from pydantic import BaseModel, Field
from scrapy.http import HtmlResponse
from starlette.concurrency import run_in_threadpool

from crawler.rules import Rule
from crawler.rules.files import read_text
from crawler.rules.request_specs import url_problem
from crawler.service.access import Editor
from crawler.service.gate import GatedRoute
from crawler.service.rulefiles import (
    PreviewBusy,
    PreviewError,
    RuleFileError,
    rule_path,
    run_preview,
)
from crawler.service.rules_api import Scalar, _compile
from crawler.spider import page_root
from crawler.spider import selector_candidates as candidates

router = APIRouter(prefix="/api/rules", tags=["rules"], route_class=GatedRoute)

PAGE_MAX = 4_000_000  # bytes of a page picked from
SAMPLES_MAX = 5  # sample pages besides the page itself
PROPOSALS_MAX = 12
VALUES_MAX = 3  # values shown per page and proposal
VALUE_CHARS = 200
#: What the snapshot keeps of an element's attributes: nothing that loads, links or runs.
SAFE_ATTRS = frozenset(
    {"class", "id", "title", "alt", "lang", "dir", "colspan", "rowspan", "itemprop", "itemtype"}
    | {"name", "type", "value", "placeholder", "label", "for", "datetime", "data-pick"}
)
Url = Annotated[str, Field(max_length=8192)]


class PageRequest(BaseModel):
    yaml: str | None = Field(default=None, max_length=1_000_000)  # the rule file when not given
    url: Url
    page: str | None = Field(default=None, max_length=200)
    args: dict[str, Scalar] = Field(default_factory=dict)


class PickRequest(PageRequest):
    path: list[Annotated[int, Field(ge=0, le=100_000)]] = Field(max_length=256)
    samples: list[Url] = Field(default_factory=list, max_length=SAMPLES_MAX)


def _rule(request: Request, name: str, body: PageRequest) -> tuple[Rule, str]:
    text = body.yaml
    if text is None:
        try:
            path = rule_path(request.app.state.config.rules_dir, name)
        except RuleFileError as exc:
            raise HTTPException(422, str(exc)) from None
        if not path.is_file():
            raise HTTPException(404, f"no rule named {name!r}")
        text = read_text(path)
    rule, problems = _compile(request, text, None)
    if rule is None:
        first = next((p for p in problems if p.is_error), None)
        where = f" (line {first.line}: {first.message})" if first else ""
        raise HTTPException(422, f"the rule has problems{where}")
    if body.page is not None and body.page not in rule.pages:
        raise HTTPException(
            422, f"no page type {body.page!r}; the rule has: {', '.join(rule.pages)}"
        )
    return rule, text


def _fetch(request: Request, rule: Rule, text: str, body: PageRequest, url: str) -> dict:
    """The preview of ``url`` with the page it fetched (``"response"``) and its tree."""
    bad_url = url_problem(url)
    if bad_url:
        raise HTTPException(422, f"cannot fetch {url!r}: {bad_url}")
    config = request.app.state.config
    try:
        output = run_preview(
            rule,
            text,
            url,
            rules_dir=config.rules_dir,
            page=body.page,
            args={k: str(v) for k, v in body.args.items()},
            timeout=config.preview_timeout,
            max_output=config.preview_max_output,
            crawl_settings=config.crawl_settings,
            keep_page=PAGE_MAX,
        )
    except PreviewError as exc:
        raise HTTPException(422, f"cannot fetch {url!r}: {exc}") from None
    fetched = output.pop("fetched")
    response = HtmlResponse(
        url=output.get("url") or url,
        body=fetched["body"],
        headers=fetched["headers"],
        encoding=output.get("encoding") or "utf-8",
    )
    root = page_root(response)
    if root is None or not isinstance(root.tag, str):
        raise HTTPException(422, f"{url!r} is no HTML page")
    return {**output, "root": root}


async def _fetch_all(
    request: Request, rule: Rule, text: str, body: PageRequest, urls: list[str]
) -> list[dict]:
    """Each URL fetched in turn, holding one preview slot for them all."""
    try:
        with request.app.state.previews.take():
            return [await run_in_threadpool(_fetch, request, rule, text, body, url) for url in urls]
    except PreviewBusy as exc:
        raise HTTPException(
            429,
            f"{exc} (SERVICE_PREVIEW_CONCURRENCY): try again when one has finished",
            headers={"Retry-After": "5"},
        ) from None


def _children(element: Any) -> list[Any]:
    return [child for child in element if isinstance(child.tag, str)]


def snapshot_html(root: Any) -> str:
    """``root`` without anything that runs, loads or submits, its elements marked with their
    ``data-pick`` path."""
    tree = copy.deepcopy(root)
    stack = [(tree, "")]
    while stack:
        element, path = stack.pop()
        if path:
            element.set("data-pick", path)
        for index, child in enumerate(_children(element)):
            stack.append((child, f"{path}.{index}" if path else str(index)))
    cleaner = Cleaner(
        scripts=True,
        javascript=True,
        comments=True,
        style=True,
        inline_style=True,
        links=True,
        meta=True,
        page_structure=False,
        processing_instructions=True,
        embedded=True,
        frames=True,
        forms=False,  # kept, but with no action: SAFE_ATTRS has none
        annoying_tags=True,
        remove_unknown_tags=False,
        safe_attrs_only=True,
        safe_attrs=SAFE_ATTRS,
        kill_tags={"noscript", "template", "base", "svg", "math", "title"},
    )
    cleaned = cleaner.clean_html(tree)
    return "<!DOCTYPE html>\n" + lxml_html.tostring(cleaned, encoding="unicode", method="html")


def element_at(root: Any, path: list[int]) -> Any:
    """The element of ``root`` at ``path``; a one-line 422 when there is none or it is not in
    the page's body."""
    element = root
    for depth, index in enumerate(path):
        children = _children(element)
        if index >= len(children):
            where = ".".join(map(str, path[: depth + 1]))
            raise HTTPException(422, f"no element at path {where} of the page")
        element = children[index]
    if element.tag in ("html", "head", "body") or any(
        a.tag == "head" for a in element.iterancestors()
    ):
        raise HTTPException(422, "pick an element of the page's body")
    return element


def _text(element: Any) -> str:
    if not isinstance(element, etree._Element):
        return " ".join(str(element).split())[:VALUE_CHARS]
    return " ".join("".join(element.itertext()).split())[:VALUE_CHARS]


def _select(root: Any, kind: str, expression: str) -> list[Any]:
    xpath = HTMLTranslator().css_to_xpath(expression) if kind == "css" else expression
    found = root.xpath(xpath)
    return found if isinstance(found, list) else [found]


def proposals(element: Any, pages: dict[str, Any]) -> list[dict[str, Any]]:
    """The selectors of :func:`candidates` for ``element`` (of the first of ``pages``, url ->
    root), each with the text it selects on every page. Ranked as ``candidates`` gives them,
    those that select the element itself first and something on every page before the rest."""
    seen: set[tuple[str, str]] = set()
    found = []
    for order, (kind, expression) in enumerate(candidates(element)):
        if (kind, expression) in seen or not expression:
            continue
        seen.add((kind, expression))
        try:
            selected = {url: _select(root, kind, expression) for url, root in pages.items()}
        except Exception:  # an expression lxml refuses: no proposal
            continue
        mine = selected[next(iter(pages))]
        rank = (
            not (mine and mine[0] is element),
            not all(selected.values()),
            len(mine) != 1,
            order,
        )
        values = {url: [_text(e) for e in nodes[:VALUES_MAX]] for url, nodes in selected.items()}
        found.append((rank, {"kind": kind, "expression": expression, "values": values}))
    found.sort(key=lambda pair: pair[0])
    return [proposal for _, proposal in found[:PROPOSALS_MAX]]


@router.post("/{name}/snapshot")
async def snapshot(request: Request, name: str, body: PageRequest, who: Editor) -> Any:
    rule, text = await run_in_threadpool(_rule, request, name, body)
    (fetched,) = await _fetch_all(request, rule, text, body, [body.url])
    return {
        "url": fetched.get("url"),
        "page": fetched.get("page"),
        "pages": list(rule.pages),
        "html": snapshot_html(fetched["root"]),
    }


@router.post("/{name}/pick")
async def pick(request: Request, name: str, body: PickRequest, who: Editor) -> Any:
    rule, text = await run_in_threadpool(_rule, request, name, body)
    urls = list(dict.fromkeys([body.url, *body.samples]))
    fetched = await _fetch_all(request, rule, text, body, urls)
    element = element_at(fetched[0]["root"], body.path)
    pages = {url: page["root"] for url, page in zip(urls, fetched, strict=True)}
    return {
        "url": fetched[0].get("url"),
        "page": fetched[0].get("page"),
        "pages": list(rule.pages),
        "tag": element.tag,
        "text": _text(element),
        "proposals": await run_in_threadpool(proposals, element, pages),
    }
