"""The ``render:`` section: its schema, its checks at file:line:column, its typed plan and the
setting it maps to."""

from __future__ import annotations

import json

import pytest

from crawler.rules import RuleError
from crawler.rules.schema import rule_schema
from crawler.rules.sections.render import Action, RenderPlan, RenderSpec
from crawler.spider.project import parse_rule

BASE = """start:
  - url: http://x.test/
    page: p
{start}pages:
  p:
{page}    fields: {{t: {{css: title}}}}
"""


def rule(page: str = "", start: str = ""):
    return parse_rule(BASE.format(page=page, start=start), filename="r.yaml")


def problems(page: str = "", start: str = "") -> list[str]:
    with pytest.raises(RuleError) as info:
        rule(page, start)
    return [str(p) for p in info.value.problems]


def test_render_js_on_a_page_type_is_the_default_spec_and_switches_rendering_on():
    compiled = rule(page="    render: js\n")
    plan = compiled.section("render")
    assert plan.for_request("p") == RenderSpec()
    assert compiled.pages["p"].extras["render"] == "js"
    assert compiled.crawl_settings["RENDER_ENABLED"] is True


def test_a_rule_that_renders_nothing_maps_to_no_setting():
    compiled = rule()
    assert not compiled.section("render")
    assert "RENDER_ENABLED" not in compiled.crawl_settings


def test_every_option_is_typed():
    page = """    render:
      wait_for: "article.book"
      wait_until: networkidle
      max_wait: 20s
      actions:
        - scroll: until_end
        - scroll: {times: 3, pause: 0.5s}
        - click: {selector: "button.more", until_gone: true}
        - click: "#next"
        - wait: 1s
        - wait_for: "//div[@id='done']"
      block: [image, font]
      screenshot: true
      capture: /api/
"""
    spec = rule(page=page).section("render").for_request("p")
    assert spec.wait_for == "article.book" and spec.wait_until == "networkidle"
    assert spec.max_wait == 20.0 and spec.block == ("image", "font") and spec.screenshot
    assert spec.capture == ("/api/",)
    assert spec.actions == (
        Action("scroll", times=200, until_end=True),
        Action("scroll", times=3, seconds=0.5),
        Action("click", times=200, until_end=True, selector="button.more"),
        Action("click", selector="#next"),
        Action("wait", seconds=1.0),
        Action("wait_for", selector="//div[@id='done']"),
    )


def test_a_start_renders_its_own_requests_before_its_page_type():
    compiled = rule(page="    render: js\n", start="    render: {wait_for: main}\n")
    plan: RenderPlan = compiled.section("render")
    assert plan.for_request("p", 0) == RenderSpec(wait_for="main")
    assert plan.for_request("p", None) == RenderSpec()
    assert plan.for_request("other") is None
    assert compiled.start[0].extras["render"] == {"wait_for": "main"}


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("    render: yes\n", "r.yaml:6:5: pages.p.render: expected a string or a mapping"),
        ("    render: {wait_for: 'div >'}\n", "r.yaml:6:14: pages.p.render.wait_for: invalid CSS"),
        (
            "    render: {wait_for: '//a['}\n",
            "r.yaml:6:14: pages.p.render.wait_for: invalid XPath",
        ),
        (
            "    render: {capture: ['(']}\n",
            "r.yaml:6:24: pages.p.render.capture[0]: invalid regular",
        ),
        (
            "    render: {block: [scripts]}\n",
            "r.yaml:6:22: pages.p.render.block[0]: must be one of",
        ),
        ("    render: {max_wait: 10m}\n", "r.yaml:6:14: pages.p.render.max_wait: must be at most"),
        ("    render: {wait_until: idle}\n", "pages.p.render.wait_until: must be one of"),
        ("    render: {actions: [{scroll: 0}]}\n", "pages.p.render.actions[0].scroll"),
        ("    render: {actions: [{jump: 1}]}\n", "pages.p.render.actions[0].jump: unknown field"),
        (
            "    render: {actions: [{click: {selector: 'a', times: 500}}]}\n",
            "pages.p.render.actions[0].click",
        ),
        ("    render: {actions: [{wait: 1h}]}\n", "pages.p.render.actions[0].wait: waits at most"),
        (
            "    render: {screenshot: /tmp/x.png}\n",
            "pages.p.render.screenshot: expected true or false",
        ),
        (
            "    render: {marker: app}\n",
            "r.yaml:6:14: pages.p.render.marker: applies to when: auto",
        ),
        ("    render: {recheck: 5}\n", "pages.p.render.recheck: applies to when: auto only"),
        ("    render: {when: auto, marker: '('}\n", "pages.p.render.marker: invalid regular"),
        ("    render: {when: auto, recheck: 1}\n", "pages.p.render.recheck"),
        ("    render: {when: maybe}\n", "pages.p.render.when: must be one of"),
        ("    render: static\n", "pages.p.render"),
    ],
)
def test_problems_are_reported_where_they_are(page, expected):
    found = problems(page=page)
    assert any(
        p.startswith(expected) or (expected in p and not expected.startswith("r.yaml"))
        for p in found
    ), found


def test_a_start_is_checked_too():
    found = problems(start="    render: {wait_for: 'div >'}\n")
    assert found[0].startswith("r.yaml:4:14: start[0].render.wait_for: invalid CSS selector")


def test_playwright_selector_engines_are_left_to_the_browser():
    spec = rule(page="    render: {wait_for: 'text=Load more'}\n").section("render")
    assert spec.for_request("p").wait_for == "text=Load more"


def test_the_plan_pickles_with_requests():
    import pickle

    plan = rule(page="    render: {actions: [{scroll: 2}], capture: [a, b]}\n").section("render")
    assert pickle.loads(pickle.dumps(plan.for_request("p"))) == plan.for_request("p")


def test_schema_has_render_on_page_types_and_starts():
    schema = rule_schema()
    for name in ("page", "start"):
        assert schema["$defs"][name]["properties"]["render"] == {"$ref": "#/$defs/render"}
    json.dumps(schema)  # serialisable as the shipped file is


def test_stealth_is_on_unless_the_rule_turns_it_off():
    assert rule(page="    render: js\n").section("render").for_request("p").stealth is True
    off = rule(page="    render: {stealth: false}\n", start="    render: {wait_for: h1}\n")
    plan = off.section("render")
    assert plan.for_request("p").stealth is False
    assert plan.for_request("p", 0).stealth is True  # the start's own render: wins for its requests
    [problem] = problems(page="    render: {stealth: maybe}\n")
    assert "pages.p.render.stealth" in problem or "stealth" in problem, problem


def test_render_auto_is_static_first_with_a_marker_and_rechecks():
    assert rule(page="    render: auto\n").section("render").for_request("p") == RenderSpec(
        auto=True, wait_until="networkidle"
    )
    page = "    render: {when: auto, marker: 'id=\"app\"></div>', recheck: 50, wait_for: main}\n"
    spec = rule(page=page).section("render").for_request("p")
    assert (spec.auto, spec.marker, spec.recheck, spec.wait_for) == (
        True, 'id="app"></div>', 50, "main"
    )  # fmt: skip
    assert rule(page=page).crawl_settings["RENDER_ENABLED"] is True
    assert not rule(page="    render: {when: always}\n").section("render").for_request("p").auto
