"""Layering, part two: no import cycles among the modules of app/, local_db/, sync/, printing/ and
ui/. Every import counts, including those under `if TYPE_CHECKING:` and inside functions: an
import moved into a function or a type-checking block still ties the two modules together."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "local_db", "sync", "printing", "ui")

# Imports that close a cycle another helper is removing this round (issue 17 item 5). The lead
# empties this list at merge; an entry whose import is gone fails test_allowed_cycle_edges_exist.
ALLOWED_CYCLE_EDGES = set()


def module_files(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _imported(name: str, f: Path, mods: dict[str, Path]) -> set[str]:
    """Names F imports (`from a import b` names a.b when that is a module of ours)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package upwards
                base = name.split(".")[: None if f.name == "__init__.py" else -1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:
                full = f"{mod}.{a.name}"
                found.add(full if full in mods else mod)
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> modules of PACKAGES it imports (package __init__ files left out: they only name
    the package)."""
    mods = module_files(root, packages)
    graph: dict[str, set[str]] = {}
    for name, f in mods.items():
        targets: set[str] = set()
        for t in _imported(name, f, mods):
            while t and t not in mods:  # `import a.b.C`: the module a.b
                t = t.rpartition(".")[0]
            if t and t != name and mods[t].name != "__init__.py":
                targets.add(t)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, …, a], or None (depth-first, iterative)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        todo = [iter(sorted(graph[start]))]
        state[start] = 1
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                todo.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_no_import_cycles() -> None:
    graph = import_graph(ROOT, PACKAGES)
    for a, b in ALLOWED_CYCLE_EDGES:
        graph.get(a, set()).discard(b)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_allowed_cycle_edges_exist() -> None:
    """An allow-listed import that is gone must leave the list (so the list only shrinks)."""
    graph = import_graph(ROOT, PACKAGES)
    gone = sorted((a, b) for a, b in ALLOWED_CYCLE_EDGES if b not in graph.get(a, set()))
    assert not gone, f"no longer imported, remove from ALLOWED_CYCLE_EDGES: {gone}"


def test_cycle_finder_sees_type_checking_and_local_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.sub import b\n"
    )
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import x\n")
    (pkg / "c.py").write_text("import p.a\n")
    (pkg / "d.py").write_text("from p import c\n")  # into the cycle, not part of it
    graph = import_graph(tmp_path, ("p",))
    assert graph == {
        "p": set(),
        "p.a": {"p.sub.b"},
        "p.sub": set(),
        "p.sub.b": {"p.c"},
        "p.c": {"p.a"},
        "p.d": {"p.c"},
    }
    assert find_cycle(graph) == ["p.a", "p.sub.b", "p.c", "p.a"]
    graph["p.c"] = set()
    assert find_cycle(graph) is None
