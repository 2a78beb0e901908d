"""No import cycles among glassgrad's modules (imports at module level; those inside functions are
the deliberate way to break a cycle, so they are ignored, as are ``if TYPE_CHECKING:`` blocks).

Importing ``glassgrad.a.b`` from outside ``glassgrad.a`` first runs ``glassgrad/a/__init__.py``, so
that counts as importing the package too. A cycle is a group of modules that import each other
(a strongly connected component). Known cycles that are still allowed go in ``ALLOWED_CYCLES``,
one set of module names each: a cycle passes if it lies within one of them. Shrink the list as
cycles are fixed; a new or grown cycle fails with the import path that closes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import glassgrad

ALLOWED_CYCLES: list[set[str]] = []  # e.g. {"glassgrad.tensor", "glassgrad.autograd"}

PACKAGE = Path(glassgrad.__file__).resolve().parent


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module of the package."""
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return mods


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported (not inside functions)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for s in body:
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            found.append(s)
        elif isinstance(s, ast.If):
            t = s.test
            if getattr(t, "id", None) == "TYPE_CHECKING" or getattr(t, "attr", None) == (
                "TYPE_CHECKING"
            ):
                found += _module_level_imports(s.orelse)
            else:
                found += _module_level_imports(s.body) + _module_level_imports(s.orelse)
        elif isinstance(s, ast.Try):
            for block in (s.body, s.orelse, s.finalbody, *(h.body for h in s.handlers)):
                found += _module_level_imports(block)
        elif isinstance(s, (ast.With, ast.ClassDef)):
            found += _module_level_imports(s.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the glassgrad modules (and packages) importing it makes Python run first."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rpartition(".")[0]
        targets = set()
        for s in _module_level_imports(ast.parse(path.read_text()).body):
            if isinstance(s, ast.Import):
                targets.update(a.name for a in s.names)
                continue
            base = s.module or ""
            if s.level:  # relative import
                parts = package.split(".")[: len(package.split(".")) - (s.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            for a in s.names:
                full = f"{base}.{a.name}"
                targets.add(full if full in mods else base)
        edges = set()
        for t in targets:
            if t.split(".")[0] != PACKAGE.name:
                continue
            while t not in mods and "." in t:
                t = t.rpartition(".")[0]
            edges.add(t)
            parent = t
            while parent.count("."):  # packages on the way run their __init__ first
                parent = parent.rpartition(".")[0]
                if parent != PACKAGE.name and not name.startswith(parent + "."):
                    edges.add(parent)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan's, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.add(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(comp)
    return found


def _path(graph: dict[str, set[str]], comp: set[str]) -> str:
    """One import cycle inside ``comp``, as ``a -> b -> a``."""
    start = min(comp)
    prev = {start: ""}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & comp):
            if w == start:
                path = [v]
                while prev[path[-1]]:
                    path.append(prev[path[-1]])
                return " -> ".join([*reversed(path), start])
            if w not in prev:
                prev[w] = v
                todo.append(w)
    return ", ".join(sorted(comp))


def test_no_new_import_cycles() -> None:
    graph = import_graph()
    bad = [c for c in cycles(graph) if not any(c <= allowed for allowed in ALLOWED_CYCLES)]
    assert not bad, "import cycles (break one import, e.g. by importing inside the function " + (
        "that needs it):\n" + "\n".join(_path(graph, c) for c in bad)
    )


def test_the_checker_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]
    assert _path(graph, {"a", "b", "c"}) == "a -> b -> c -> a"
