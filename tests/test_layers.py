"""The package's layers, read from the code: no upward import, no cycle.

Every import in every module counts, including imports inside functions
(which keep start-up fast but are real dependencies). The layers, lowest
first, are listed in ``LAYERS``; a module may import its own layer or a
lower one. ``docs/architecture.md`` draws the same table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simulator

ROOT = Path(simulator.__file__).parent

#: (layer, module prefixes), lowest first.
LAYERS = [
    ("base", ["simulator.errors", "simulator._version", "simulator._cachedir"]),
    ("model", ["simulator.model"]),
    ("io", ["simulator.io"]),
    ("core", ["simulator.core"]),
    ("analysis", ["simulator.analysis"]),
    ("plots", ["simulator.plots"]),
    ("products", ["simulator.report", "simulator.explore"]),
    ("cli", ["simulator.cli"]),
    ("facade", ["simulator", "simulator.__main__"]),
]
#: Modules that must not import a layer they could (the engine never sees the schema).
FORBIDDEN = {
    "simulator.core.engine": ["simulator.io"],
    "simulator.model": ["simulator.io", "simulator.core"],
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports(path: Path, name: str) -> set[str]:
    """Every simulator module ``path`` imports, at any depth of the code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}   # "from pkg import module"
    known = modules()
    return {m for m in out if m in known and m != name}


def layer_of(name: str) -> int:
    best, depth = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > depth:
                best, depth = i, len(p)
    assert best is not None, f"{name} is in no layer; add it to LAYERS (and docs/architecture.md)"
    return best


def graph() -> dict[str, set[str]]:
    return {name: imports(path, name) for name, path in modules().items()}


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


def test_no_upward_imports():
    bad = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
           for a, deps in graph().items() for b in sorted(deps) if layer_of(b) > layer_of(a)]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_forbidden_imports():
    bad = []
    for a, deps in graph().items():
        for prefix, banned in FORBIDDEN.items():
            if a == prefix or a.startswith(prefix + "."):
                bad += [f"{a} imports {b}" for b in deps for ban in banned if b == ban or b.startswith(ban + ".")]
    assert not bad, "\n".join(bad)


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the import graph, or None (iterative depth-first search)."""
    state: dict[str, int] = {}
    for start in g:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(g[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(child) == 1:
                return path[path.index(child):] + [child]
            if not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(g[child]))))
    return None


def test_no_import_cycles():
    g = graph()
    # a package's __init__ re-exporting its own modules is not a cycle of dependencies
    for name in g:
        g[name] = {d for d in g[name]
                   if not name.startswith(d + ".") or not (ROOT.parent / Path(*d.split("."))).is_dir()}
    cycle = find_cycle(g)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checker_catches_an_upward_import_and_a_cycle():
    """The test itself can fail."""
    g = {"simulator.model.a": {"simulator.cli.common"}, "simulator.cli.common": set()}
    assert any(layer_of(b) > layer_of(a) for a, deps in g.items() for b in deps)
    assert find_cycle({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == ["x", "y", "z", "x"]
    assert find_cycle({"x": {"y"}, "y": set()}) is None


@pytest.mark.parametrize("name", ["simulator.core.engine", "simulator.model.supply"])
def test_engine_and_model_never_see_the_schema(name):
    assert not any(d.startswith("simulator.io") for d in graph()[name])


def test_no_function_in_the_package_is_over_150_lines():
    """Issue #11: small functions; the longest today is about 125 lines."""
    import ast

    long = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 150:
                    long.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long
