"""The shape the architecture promises (docs/architecture.md), checked on the source: packages in
a declared order of layers, each importing only layers below it; a feature reaching another
feature only through that package's own module (what its ``__init__`` exports); no import cycle
between modules or between packages, ``TYPE_CHECKING`` imports included; the rule compiler free
of Scrapy, the proxy pool free of the crawler; every setting a component reads declared with a
default; every logger named after its module; modules of a readable size."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "cleaners", "proxies", "vocab")
MAX_MODULE_LINES = 420  # "about 400 lines is a module's natural upper size"

# Lowest first. A package imports packages of lower layers only: never one of its own layer,
# never one above. Every folder of crawler/ is listed here (a test checks it).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("vocab",),  # the words the crawler and the proxy pool share
    ("cleaners", "proxies"),  # pure value cleaners; the proxy pool service
    ("crawler.rules",),  # the rule compiler (no Scrapy)
    ("crawler.defaults",),  # settings and their defaults, one module per group
    ("crawler.core",),  # plumbing every feature shares
    ("crawler.config",),  # the deployment's file and environment over the project's settings
    ("crawler.store",),  # features, from here up to the data service
    (
        "crawler.accounts",  # account pools: leases, limits, encrypted cookies (Redis or process)
        "crawler.captcha",
        "crawler.files",
        "crawler.oauth",
        "crawler.push",
        "crawler.runs",
    ),
    ("crawler.antiban",),
    ("crawler.spider", "crawler.politeness"),
    (
        "crawler.archive",  # pages kept to run a fixed rule on again (needs spider, store, runs)
        "crawler.distributed",
        "crawler.monitors",
        "crawler.render",
        "crawler.schedule",
    ),
    ("crawler.nodes",),  # the fleet: Scrapyd nodes, deploy, dispatch, health
    ("crawler.service",),
    ("crawler.commands",),  # the CLI: thin, composes the features
    ("crawler.settings", "crawler"),  # the project's settings name components by path
)
LAYER = {package: level for level, packages in enumerate(LAYERS) for package in packages}
# Packages any layer above may import module by module; the rest are features, reached
# through their package alone (what its __init__ exports), except by the CLI and the settings.
OPEN = {"vocab", "cleaners", "proxies", "crawler.rules", "crawler.defaults", "crawler.core"}
COMPOSERS = {"crawler.commands", "crawler.settings"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for package in PACKAGES
        for p in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def imports_of(name: str, path: Path, modules: Mapping[str, object]) -> set[str]:
    """Project modules ``name`` imports anywhere in its body: functions and ``if
    TYPE_CHECKING:`` blocks included (a type-only import ties two modules as much as any)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            # ``from pkg import mod`` needs mod; ``from pkg import Name``, what pkg exports
            names_from_base = len(submodules) < len(node.names)
            targets = submodules + ([base] if names_from_base else [])
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def package_of(module: str) -> str:
    """The package a module belongs to for layering: ``crawler.<folder>`` or a top package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "crawler" and len(parts) > 1 else parts[0]


def package_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for source, targets in graph.items():
        here = package_of(source)
        packages.setdefault(here, set()).update(
            package_of(t) for t in targets if package_of(t) != here
        )
    return packages


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_violations(graph: Mapping[str, set[str]]) -> list[str]:
    """Imports of a package of the same layer or a higher one, and of an undeclared package."""
    found = []
    for source, targets in sorted(graph.items()):
        here = package_of(source)
        for target in sorted(targets):
            there = package_of(target)
            if there == here:
                continue
            if here not in LAYER or there not in LAYER:
                found.append(
                    f"{source} -> {target}: {here if here not in LAYER else there} has no layer"
                )
            elif LAYER[there] >= LAYER[here]:
                where = "its own layer" if LAYER[there] == LAYER[here] else "a layer above"
                found.append(f"{source} -> {target}: {here} may not import {there} ({where})")
    return found


def internal_reaches(graph: Mapping[str, set[str]]) -> list[str]:
    """A feature importing a module inside another feature instead of that feature's package."""
    found = []
    for source, targets in sorted(graph.items()):
        here = package_of(source)
        if here in COMPOSERS:
            continue
        for target in sorted(targets):
            there = package_of(target)
            if there != here and there not in OPEN and target != there:
                found.append(f"{source} -> {target}: import it from {there}")
    return found


# -- the checks check ---------------------------------------------------------------------------


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_a_package_cycle_is_found_even_without_a_module_cycle():
    # the shape the re-layout removed: rules -> antiban -> defaults -> rules
    graph = {
        "crawler.rules.sections.antiban.checks": {"crawler.antiban.useragents"},
        "crawler.antiban.ban_policy": {"crawler.defaults.antiban"},
        "crawler.defaults": {"crawler.rules.settings_catalog"},
    }
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == [
        ["crawler.antiban", "crawler.defaults", "crawler.rules"]
    ]


def test_an_import_up_the_layers_and_a_reach_into_a_feature_fail():
    up = {"crawler.store.itemtype_pipeline": {"crawler.spider.rule_spider"}}
    assert layer_violations(up) == [
        "crawler.store.itemtype_pipeline -> crawler.spider.rule_spider: "
        "crawler.store may not import crawler.spider (a layer above)"
    ]
    sideways = {"crawler.runs.recorder": {"crawler.push"}}
    assert "its own layer" in layer_violations(sideways)[0]
    inside = {"crawler.render.middleware": {"crawler.spider.extract.inputs", "crawler.spider"}}
    assert internal_reaches(inside) == [
        "crawler.render.middleware -> crawler.spider.extract.inputs: import it from crawler.spider"
    ]
    assert internal_reaches({"crawler.commands.preview": {"crawler.spider.extract"}}) == []
    assert internal_reaches({"crawler.spider.project": {"crawler.rules.files"}}) == []


def test_the_graph_sees_function_level_and_type_checking_imports(tmp_path):
    graph = import_graph()
    assert "crawler.rules.itemtypes" in graph["crawler.rules.compiler"]
    assert "crawler.store" in graph["crawler.runs.recorder"]
    module = tmp_path / "typed.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from crawler.store import Store\n"
        "def later():\n"
        "    from crawler.spider import extract\n"
    )
    found = imports_of("crawler.x.typed", module, project_modules())
    assert found == {"crawler.store", "crawler.spider.extract"}


# -- the code keeps the shape -------------------------------------------------------------------


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_no_package_cycles():
    assert cycles(package_graph(import_graph())) == []


def test_packages_import_only_the_layers_below():
    assert layer_violations(import_graph()) == []


def test_features_meet_through_their_packages():
    assert internal_reaches(import_graph()) == []


def test_one_folder_per_concern_and_no_loose_modules():
    """Every folder of crawler/ is a declared package (no by-kind folders such as middlewares/
    or pipelines/); at its root only the project's settings."""
    folders = {
        f"crawler.{p.name}" for p in (ROOT / "crawler").iterdir() if (p / "__init__.py").exists()
    }
    assert folders <= set(LAYER), sorted(folders - set(LAYER))
    loose = sorted(p.name for p in (ROOT / "crawler").glob("*.py"))
    assert loose == ["__init__.py", "settings.py"]


def test_rule_compiler_imports_no_scrapy():
    code = (
        "import sys, crawler.rules, crawler.rules.request_specs, crawler.rules.routing\n"
        "from crawler.rules.sections import sections\n"
        "from crawler.rules.schema import rule_schema\n"
        "sections(); rule_schema()\n"
        "from crawler.rules import load_rules\n"
        "load_rules('rules')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted'))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_every_command_starts_without_the_heavy_libraries_of_a_few():
    """Scrapy imports every command module to start any command: a library one command or one
    item type needs (the service's FastAPI, openpyxl, datasketch with scipy, Playwright and
    playwright-stealth, the PostgreSQL and MySQL clients, curl_cffi) is imported where it is
    used, or every crawl and every command pays for it (0.4 s measured)."""
    code = (
        "import sys\n"
        "from scrapy.cmdline import _get_commands_dict\n"
        "from scrapy.utils.project import get_project_settings\n"
        "_get_commands_dict(get_project_settings(), inproject=True)\n"
        "heavy = ('fastapi', 'starlette', 'openpyxl', 'datasketch', 'scipy', 'numpy', 'playwright',\n"
        "         'psycopg', 'psycopg_pool', 'pymysql', 'pypdf', 'docx', 'curl_cffi',\n"
        "         'scrapy_impersonate', 'playwright_stealth')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_proxies_and_vocab_never_import_the_crawler():
    graph = import_graph()
    offenders = {
        name: sorted(t for t in targets if t.startswith("crawler"))
        for name, targets in graph.items()
        if name.startswith(("proxies", "vocab", "cleaners"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


LOGGER = re.compile(r"getLogger\(\s*[\"']((?:crawler|proxies|cleaners|vocab)\b[^\"']*)[\"']")


def test_every_logger_is_named_after_its_module():
    named = {
        (str(path.relative_to(ROOT)), name)
        for path in project_modules().values()
        for name in LOGGER.findall(path.read_text(encoding="utf-8"))
    }
    assert named == set()


@pytest.mark.parametrize("name", sorted(project_modules()))
def test_module_size(name):
    lines = project_modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines: split it by concern"


SETTING_READ = re.compile(  # reads from settings objects, not from the environment
    r"(?<!environ)(?<!\benv)\.(?:get|getint|getfloat|getbool|getlist|getdict|getwithbase)"
    r"\(\s*\"([A-Z][A-Z0-9_]+)\""
)


def test_every_setting_a_component_reads_is_declared():
    from crawler.defaults import catalog

    known = catalog()
    read = {
        (name, str(path.relative_to(ROOT)))
        for path in project_modules().values()
        if path.parts[-2:] != ("defaults", "__init__.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith(">>>")  # doctests may read a setting that is not one
        for name in SETTING_READ.findall(line)
    }
    undeclared = sorted((name, where) for name, where in read if name not in known)
    assert undeclared == []


def test_project_settings_only_override_declared_settings():
    import crawler.settings
    from crawler.defaults import catalog

    known = catalog()
    assert [n for n in dir(crawler.settings) if n.isupper() and n not in known] == []
