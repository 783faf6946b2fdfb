"""``start:``: the requests a crawl begins with, templated from the rule's arguments."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from crawler.rules import templates
from crawler.rules.compile_context import BuildContext
from crawler.rules.model import MISSING, StartSpec
from crawler.rules.request_specs import url_problem
from crawler.rules.sections import Section
from crawler.rules.sections.headers import check_header_values
from crawler.rules.yamlpos import Path

SCALAR = {"type": ["string", "number", "boolean", "null"]}

START = {
    "type": "object",
    "description": "A start request: a URL (templated with {arg} and {1..N} ranges) and the page type it lands on.",
    "properties": {
        "url": {"type": "string"},
        "urls": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "page": {"type": "string"},
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "default": "GET"},
        "headers": {
            "$ref": "#/$defs/headers",
            "description": "Headers for this start and every request it leads to.",
        },
        "form": {
            "type": "object",
            "additionalProperties": SCALAR,
            "description": "Form body (POST).",
        },
        "json": {"description": "JSON body."},
        "body": {"type": "string", "description": "Raw body."},
        "carry": {
            "type": "object",
            "description": "Values every item reached from here starts with.",
        },
        "priority": {"type": "integer"},
    },
    "required": ["page"],
    "additionalProperties": False,
}


def build(ctx: BuildContext) -> tuple[StartSpec, ...]:
    specs = ctx.data.get("start")
    if not isinstance(specs, list):
        return ()
    starts = {
        i: build_start(ctx, spec, ("start", i))
        for i, spec in enumerate(specs)
        if isinstance(spec, dict)  # else the schema said what it should be
    }
    check_count(ctx, starts)
    return tuple(starts.values())


def check_scheme(ctx: BuildContext, template: str, path: Path) -> None:
    """A start URL must be http or https (with the declared defaults; the crawl checks again
    with the arguments it is given)."""
    args = {k: v for k, v in ctx.arg_defaults.items() if v is not None}
    try:
        first = next(templates.expand(template, args), None)
    except (KeyError, ValueError):
        return  # a required argument, or a template problem reported already
    problem = url_problem(first) if first is not None else None
    if problem:
        ctx.error(path, f"{first!r}: {problem}")


def check_count(ctx: BuildContext, starts: dict[int, StartSpec]) -> None:
    """With the declared defaults, the start URLs must stay within the limit (the crawl checks
    again with the arguments it is given)."""
    args = {k: v for k, v in ctx.arg_defaults.items() if v is not None}
    total = 0
    for i, spec in starts.items():
        for j, template in enumerate(spec.urls):
            try:
                total += templates.count(template, args)
            except (KeyError, ValueError):
                continue  # a required argument: known at crawl time; a bad template: reported
            if total > ctx.env.max_start_requests:
                path = ("start", i) + (("url",) if len(spec.urls) == 1 else ("urls", j))
                ctx.error(
                    path,
                    f"the start URLs stand for {total:,}+ requests, more than the limit of "
                    f"{ctx.env.max_start_requests:,} (setting RULE_MAX_START_REQUESTS)",
                )
                return


def build_start(ctx: BuildContext, spec: dict, path: Path) -> StartSpec:
    """A start request from the parts of ``spec`` the schema accepted."""
    if ("url" in spec) == ("urls" in spec):
        ctx.error(path, "needs exactly one of url or urls")
    url = ctx.part(spec, "url", path)
    urls = [url] if url is not None else list(ctx.part(spec, "urls", path, []))
    for i, url in enumerate(urls):
        sub = path + (("url",) if "url" in spec else ("urls", i))
        ctx.check_template(url, sub)
        check_scheme(ctx, url, sub)
    bodies = [k for k in ("form", "json", "body") if k in spec]
    if len(bodies) > 1:
        ctx.error(path, f"give one body: form, json or body (found {' and '.join(bodies)})")
    ctx.check_page_ref(spec.get("page"), path + ("page",))
    headers = ctx.part(spec, "headers", path, {})
    check_header_values(ctx, headers, path + ("headers",))
    form = ctx.part(spec, "form", path)
    return StartSpec(
        urls=tuple(urls),
        page=spec.get("page", ""),
        method=spec.get("method", "POST" if bodies else "GET"),
        headers=MappingProxyType(dict(headers)),
        form=MappingProxyType(dict(form)) if form is not None else None,
        json=spec.get("json", MISSING),
        body=spec.get("body"),
        carry=MappingProxyType(dict(ctx.part(spec, "carry", path, {}))),
        priority=spec.get("priority"),
        extras=MappingProxyType({k: v for k, v in spec.items() if k not in START["properties"]}),
    )


PROPERTIES: dict[str, Any] = {
    "start": {"type": "array", "items": {"$ref": "#/$defs/start"}, "minItems": 1},
}

SECTION = Section(
    name="start",
    order=20,
    properties=PROPERTIES,
    defs={"start": START},
    build=build,
    required=("start",),
)
