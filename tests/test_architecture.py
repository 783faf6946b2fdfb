"""The shape the architecture promises, checked on the source: no import cycles, the rule
compiler free of Scrapy, the proxy pool free of the crawler, every setting a component reads
declared with a default, modules of a readable size."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "cleaners", "proxies", "vocab")
MAX_MODULE_LINES = 420  # "about 400 lines is a module's natural upper size"


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


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``name`` imports anywhere in its body (functions included), except
    under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            if target in modules and target != name:
                found.add(target)
                break
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
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


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "crawler.rules.itemtypes" in graph["crawler.rules.compiler"]
    assert "crawler.store.backends" in graph["crawler.store"]


def test_rule_compiler_imports_no_scrapy():
    code = (
        "import sys, crawler.rules, crawler.rules.requests, crawler.rules.routing\n"
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


def test_proxies_and_vocab_never_import_the_crawler():
    graph = import_graph()
    offenders = {
        name: sorted(t for t in targets if t.startswith("crawler"))
        for name, targets in graph.items()
        if name.startswith(("proxies", "vocab", "cleaners"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


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
