"""The module graph stays a graph without cycles, and every import is at the top of its module.

A cycle is a design problem (two modules that need each other are one concept, or need a seam such as the
workflow kernel's listeners); an import inside a function is how a cycle hides, so neither is allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hazard_registry

PACKAGE = Path(hazard_registry.__file__).resolve().parent
ROOT = "hazard_registry"

# Imports that may stay inside a function, with the reason. Keep this empty unless an import is genuinely
# optional and heavy (a module most runs never need).
ALLOWED_INSIDE_FUNCTIONS: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[0] == "migrations":  # Alembic's scripts: run by alembic, imported by nothing in the package
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([ROOT, *parts])] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif (isinstance(node, ast.If) and not _is_type_checking(node)) or isinstance(node, ast.Try):
            found.extend(n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]  # fmt: skip
            for target in targets:
                if target.startswith(ROOT + ".") and target in modules and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_the_registry_modules():
    graph = import_graph()
    assert graph.get("hazard_registry.hazards.service")
    assert cycles(graph) == []


def test_the_hazard_core_does_not_import_supervision():
    """The seam is a listener (supervision/listeners.py), registered at start-up."""
    graph = import_graph()
    for core in ("hazard_registry.hazards.service", "hazard_registry.hazards.workflow"):
        reach, todo = set(), [core]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in reach:
                    reach.add(nxt)
                    todo.append(nxt)
        assert not {m for m in reach if m.startswith("hazard_registry.supervision")}, core


def test_no_import_inside_a_function():
    inside = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                        if (name, module or "") not in ALLOWED_INSIDE_FUNCTIONS:
                            inside.append(f"{name}:{sub.lineno} {node.name} imports {module}")
    assert inside == []
