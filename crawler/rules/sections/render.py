"""``render:`` on a page type or a start: fetch its pages in a headless browser.

``render: js`` renders with the defaults; ``render: auto`` fetches each page statically first
and renders only a page whose static response misses what its page type needs (its required
fields, or anything at all; or a page showing ``marker``): :mod:`crawler.render.auto`. A
mapping says how (every key optional)::

    pages:
      list:
        render:
          wait_for: "article.book"          # a CSS selector (or //xpath) that must appear
          wait_until: networkidle           # or load (default), domcontentloaded
          max_wait: 20s                     # the whole page: load, waits and actions
          actions:                          # in order
            - scroll: until_end             # or a number of times, or {times: 5, pause: 500ms}
            - click: "button.load-more"     # or {selector: ..., times: 20, until_gone: true}
            - wait: 1s                      # or wait_for: "selector"
          block: [image, font, media]       # resource types the browser does not fetch
          screenshot: true
          capture: ["/api/books"]           # URL regexes of XHR/fetch answers: their JSON (a list,
                                            # in arrival order) is the page's JSON for json: fields
          resource_hosts: [cdn.example.net] # hosts off the rule's domains sub-resources may use
          stealth: false                    # default true: hide automation (crawler.render.stealth)
          when: auto                        # default always; auto: static first (render: auto)
          marker: 'id="app"></div>'         # auto: a regex; a static page showing it is rendered
          recheck: 20                       # auto: a type that renders first tries 1 in 20 static

Keys added to page types and starts land in their ``extras``; this section reads them, checks
them (problems at their file:line:column) and builds a :class:`RenderPlan` (typed, immutable,
picklable: it travels with requests). Its setting: ``RENDER_ENABLED`` when anything renders.
A rule names no file: where screenshots go is a project setting (``RENDER_SCREENSHOT_DIR``).

>>> spec = render_spec("js")
>>> spec.wait_until, spec.actions, spec.capture, spec.stealth, spec.auto
('load', (), (), True, False)
>>> auto = render_spec("auto")
>>> auto.auto, auto.marker, auto.recheck, auto.wait_until
(True, None, 20, 'networkidle')
>>> render_spec({"actions": [{"scroll": 3}, {"click": "button.more"}]}).actions
(Action(kind='scroll', times=3, until_end=False, selector=None, seconds=0.0), Action(kind='click', times=1, until_end=False, selector='button.more', seconds=0.0))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext, parse_duration
from crawler.rules.expressions import css_problem, regex_problem, xpath_problem
from crawler.rules.sections import Section
from crawler.rules.yamlpos import Path

RESOURCE_TYPES = ("image", "font", "media", "stylesheet", "texttrack", "manifest", "other")
WAIT_UNTIL = ("load", "domcontentloaded", "networkidle")
MAX_REPEAT = 200  # scrolls or clicks of one action: bounded, as every input
MAX_WAIT_SECONDS = 300.0
RECHECK = 20  # render: auto: one page in this many is tried static again (a type that renders)

_SELECTOR = {
    "type": "string",
    "minLength": 1,
    "description": "A CSS selector, or an XPath starting with // (Playwright's text= and "
    "other engines with their prefix).",
}
_TIMES = {"type": "integer", "minimum": 1, "maximum": MAX_REPEAT}
_DURATION = {"$ref": "#/$defs/duration"}

# No oneOf: a value of either form is checked by the keywords of its type alone, so every
# problem is reported at its own key, worded for a person.
ACTION = {
    "type": "object",
    "description": "One page action: exactly one of scroll, click, wait or wait_for.",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "scroll": {
            "description": "Scroll to the bottom: a number of times, `until_end` (until the "
            "page stops growing), or {times, until_end, pause}.",
            "type": ["integer", "string", "object"],
            "minimum": 1,
            "maximum": MAX_REPEAT,
            "pattern": "^until_end$",
            "properties": {"times": _TIMES, "until_end": {"type": "boolean"}, "pause": _DURATION},
            "additionalProperties": False,
        },
        "click": {
            "description": "Click a selector (a 'load more' button): once, {times: N}, or "
            "{until_gone: true} to click while it is there (at most 200 times).",
            "type": ["string", "object"],
            "minLength": 1,
            "properties": {
                "selector": _SELECTOR,
                "times": _TIMES,
                "until_gone": {"type": "boolean"},
                "pause": _DURATION,
            },
            "required": ["selector"],
            "additionalProperties": False,
        },
        "wait": dict(_DURATION, description="Wait this long (500ms is written 0.5s)."),
        "wait_for": dict(_SELECTOR, description="Wait until this selector is on the page."),
    },
    "additionalProperties": False,
}

RENDER = {
    "description": "Fetch pages of this type (or this start) in a headless browser: `js`, or a "
    "mapping of options (docs/rendering.md). `auto`: fetch statically first and render only "
    "pages that miss their required fields (or show `marker`).",
    "type": ["string", "object"],
    "pattern": "^(js|auto)$",
    "properties": {
        "wait_for": dict(_SELECTOR, description="Wait until this selector is on the page."),
        "wait_until": {
            "enum": list(WAIT_UNTIL),
            "default": "load",
            "description": "The load state to wait for: load, domcontentloaded, or "
            "networkidle (no request for 500 ms).",
        },
        "max_wait": dict(
            _DURATION,
            description="Longest time for the whole page (load, waits, actions); "
            "default RENDER_MAX_WAIT. A page that does not settle in time is an error.",
        ),
        "actions": {
            "type": "array",
            "items": {"$ref": "#/$defs/render_action"},
            "maxItems": 50,
        },
        "block": {
            "type": "array",
            "items": {"enum": list(RESOURCE_TYPES)},
            "uniqueItems": True,
            "description": "Resource types the browser does not fetch.",
        },
        "screenshot": {
            "type": "boolean",
            "default": False,
            "description": "Keep a full-page screenshot (saved under RENDER_SCREENSHOT_DIR).",
        },
        "resource_hosts": {
            "description": "Hosts (a name, or name:port) off the rule's domains that the "
            "page's scripts, styles, images, fonts and XHR may come from (a CDN); subdomains "
            "included. Never for navigations, never a private or loopback address other than "
            "the rule's own start.",
            "type": "array",
            "items": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:[0-9]{1,5})?$",
            },
            "uniqueItems": True,
            "maxItems": 50,
        },
        "stealth": {
            "type": "boolean",
            "default": True,
            "description": "Hide the browser's automation from the page's scripts "
            "(navigator.webdriver, a HeadlessChrome agent, userAgentData, platform, languages, "
            "WebGL...), coherent with the context's user agent and Accept-Language; false "
            "shows the page a plain headless Chromium (docs/rendering.md#stealth).",
        },
        "when": {
            "enum": ["always", "auto"],
            "default": "always",
            "description": "always: every page renders. auto: each page is fetched statically "
            "first and rendered only when it misses its page type's required fields (or yields "
            "nothing, or shows `marker`); a type whose static pages keep missing renders first, "
            "trying one page in `recheck` static again.",
        },
        "marker": {
            "type": "string",
            "minLength": 1,
            "maxLength": 500,
            "description": "With when: auto, a regex: a static page it matches is rendered "
            "(an empty app shell, a 'please enable JavaScript' notice).",
        },
        "recheck": {
            "type": "integer",
            "minimum": 2,
            "maximum": 10000,
            "default": RECHECK,
            "description": "With when: auto, once a page type renders first (its static pages "
            "kept missing), one page in this many is fetched statically again: a type whose "
            "static page has its content again goes back to static first.",
        },
        "capture": {
            "description": "Regexes of XHR/fetch URLs whose JSON answers become the "
            "page's JSON (a list, in the order they arrived) for json: fields and rows.",
            "type": ["string", "array"],
            "minLength": 1,
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Action:
    kind: str  # scroll | click | wait | wait_for
    times: int = 1
    until_end: bool = (
        False  # scroll until the page stops growing; click while the selector is there
    )
    selector: str | None = None
    seconds: float = 0.0  # wait: how long; scroll and click: the pause after each step


@dataclass(frozen=True)
class RenderSpec:
    """How to render one page: plain data, so it travels in request meta and pickles."""

    wait_for: str | None = None
    wait_until: str = "load"
    max_wait: float | None = None  # seconds; None: RENDER_MAX_WAIT
    actions: tuple[Action, ...] = ()
    block: tuple[str, ...] = ()
    screenshot: bool = False
    capture: tuple[str, ...] = ()
    resource_hosts: tuple[str, ...] = ()  # sub-resources only: a CDN (crawler.render.guard)
    stealth: bool = True  # hide automation, coherent with the context (crawler.render.stealth)
    auto: bool = False  # render: auto: static first, rendered when it misses (crawler.render.auto)
    marker: str | None = None  # auto: a regex; a static page showing it is rendered
    recheck: int = RECHECK  # auto: a type that renders first tries one page in this many static


@dataclass(frozen=True)
class RenderPlan:
    """Which page types and starts (by index) render, and how."""

    pages: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    starts: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __bool__(self) -> bool:
        return bool(self.pages or self.starts)

    def for_request(self, page: str | None, start: int | None = None) -> RenderSpec | None:
        """The start's rendering for its own requests, else the page type's."""
        if start is not None and start in self.starts:
            return self.starts[start]
        return self.pages.get(page) if page is not None else None


def _action(spec: dict[str, Any]) -> Action:
    kind, value = next(iter(spec.items()))
    if kind == "scroll":
        if value == "until_end":
            return Action("scroll", times=MAX_REPEAT, until_end=True)
        if isinstance(value, int):
            return Action("scroll", times=value)
        until_end = bool(value.get("until_end", False))
        times = value.get("times", MAX_REPEAT if until_end else 1)
        return Action("scroll", times, until_end, seconds=_seconds(value.get("pause")))
    if kind == "click":
        if isinstance(value, str):
            return Action("click", selector=value)
        until_gone = bool(value.get("until_gone", False))
        times = value.get("times", MAX_REPEAT if until_gone else 1)
        pause = _seconds(value.get("pause"))
        return Action("click", times, until_gone, value["selector"], pause)
    if kind == "wait":
        return Action("wait", seconds=parse_duration(value))
    return Action("wait_for", selector=value)


def _default_wait_until(value: dict[str, Any]) -> str:
    """``load``; for ``when: auto`` with nothing to wait for, ``networkidle``: a page rendered
    because its static response missed its content gets that content by script, after load."""
    auto = value.get("when") == "auto" and "wait_for" not in value
    return "networkidle" if auto else "load"


def _seconds(value: str | None) -> float:
    return parse_duration(value) if value else 0.0


def render_spec(value: Any) -> RenderSpec:
    """The typed form of a (schema-valid) ``render:`` value."""
    if value == "js":
        return RenderSpec()
    if value == "auto":
        value = {"when": "auto"}
    capture = value.get("capture", ())
    return RenderSpec(
        wait_for=value.get("wait_for"),
        wait_until=value.get("wait_until", _default_wait_until(value)),
        max_wait=parse_duration(value["max_wait"]) if "max_wait" in value else None,
        actions=tuple(_action(a) for a in value.get("actions", ())),
        block=tuple(value.get("block", ())),
        screenshot=bool(value.get("screenshot", False)),
        capture=(capture,) if isinstance(capture, str) else tuple(capture),
        resource_hosts=tuple(h.lower() for h in value.get("resource_hosts", ())),
        stealth=bool(value.get("stealth", True)),
        auto=value.get("when") == "auto",
        marker=value.get("marker"),
        recheck=int(value.get("recheck", RECHECK)),
    )


def selector_problem(selector: str) -> str | None:
    """A selector the browser will run: XPath (``//``, ``xpath=``), another Playwright engine
    (``text=``...: not checked here), or CSS."""
    if selector.startswith(("//", "(//", "xpath=")):
        return xpath_problem(selector.removeprefix("xpath="), nodes=True)
    engine, sep, _ = selector.partition("=")
    if sep and engine.replace("-", "").isalpha() and " " not in engine:
        return None  # text=..., id=..., data-testid=...: Playwright's own engines
    return css_problem(selector.removeprefix("css="))


def check_render(ctx: BuildContext, value: Any, path: Path) -> None:
    """What the schema cannot see: selectors and regexes that do not compile, durations."""
    if not isinstance(value, dict):
        return
    selectors: list[tuple[Path, str]] = []
    if "wait_for" in value:
        selectors.append((path + ("wait_for",), value["wait_for"]))
    for i, action in enumerate(value.get("actions", ())):
        kind, arg = next(iter(action.items()))
        at = path + ("actions", i, kind)
        if kind == "wait_for" or (kind == "click" and isinstance(arg, str)):
            selectors.append((at, arg))
        elif kind == "click":
            selectors.append((at + ("selector",), arg["selector"]))
        if kind == "wait" or (isinstance(arg, dict) and "pause" in arg):
            where = at if kind == "wait" else at + ("pause",)
            seconds = parse_duration(arg if kind == "wait" else arg["pause"])
            if seconds > MAX_WAIT_SECONDS:
                ctx.error(where, f"waits at most {MAX_WAIT_SECONDS:.0f}s")
        if (
            kind == "scroll"
            and isinstance(arg, dict)
            and "times" not in arg
            and not arg.get("until_end")
        ):
            ctx.warning(at, "scrolls once: give times or until_end")
    for where, selector in selectors:
        message = selector_problem(selector)
        if message:
            ctx.error(where, message)
    if "max_wait" in value:
        seconds = ctx.duration(value, "max_wait", path)
        if seconds is not None and seconds > MAX_WAIT_SECONDS:
            ctx.error(path + ("max_wait",), f"must be at most {MAX_WAIT_SECONDS:.0f}s")
    if value.get("when") != "auto":
        for key in ("marker", "recheck"):
            if key in value:
                ctx.error(path + (key,), "applies to when: auto only")
    if "marker" in value:
        message = regex_problem(value["marker"])
        if message:
            ctx.error(path + ("marker",), message)
    capture = value.get("capture", ())
    patterns = [capture] if isinstance(capture, str) else list(capture)
    for i, pattern in enumerate(patterns):
        message = regex_problem(pattern)
        if message:
            ctx.error(path + ("capture",) + (() if isinstance(capture, str) else (i,)), message)


def build(ctx: BuildContext) -> RenderPlan:
    pages: dict[str, RenderSpec] = {}
    raw_pages = ctx.data.get("pages")
    for name, spec in (raw_pages if isinstance(raw_pages, dict) else {}).items():
        path = ("pages", name, "render")
        if isinstance(spec, dict) and "render" in spec and not ctx.broken(path):
            check_render(ctx, spec["render"], path)
            pages[name] = render_spec(spec["render"])
    starts: dict[int, RenderSpec] = {}
    raw_starts = ctx.data.get("start")
    for i, spec in enumerate(raw_starts if isinstance(raw_starts, list) else ()):
        path = ("start", i, "render")
        if isinstance(spec, dict) and "render" in spec and not ctx.broken(path):
            check_render(ctx, spec["render"], path)
            starts[i] = render_spec(spec["render"])
    return RenderPlan(MappingProxyType(pages), MappingProxyType(starts))


def settings(plan: RenderPlan) -> dict[str, Any]:
    return {"RENDER_ENABLED": True} if plan else {}


SECTION = Section(
    name="render",
    order=70,
    properties={},
    build=build,
    settings=settings,
    defs={"render": RENDER, "render_action": ACTION},
    extends={
        "page": {"render": {"$ref": "#/$defs/render"}},
        "start": {"render": {"$ref": "#/$defs/render"}},
    },
)
