"""The package's imports run one way: no cycles, no private names across modules, no stage
importing a later one. Read from the source with ``ast`` (imports inside functions count too).

The stages are the README's Architecture section; a new module must be placed in one here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "discover"

# lowest first; a module may import modules of its own stage or an earlier one
STAGES = [
    ("foundation", ["errors", "version", "schema", "formula", "law", "roles", "score", "ui", "locking", "budget", "workers"]),
    ("table and contracts", ["data", "schedule", "datasets", "splits", "options", "candidate", "engines", "engines.base"]),
    ("fitting", ["fitting"]),
    ("laws", ["canon", "catalog", "resolve", "naming", "flags"]),
    ("scoring and selection", ["result", "scoring", "select", "checkpoint"]),
    ("engines", ["engines.*"]),
    ("runs", ["pipeline", "search", "targets", "estimator"]),
    ("outputs", ["optimal", "report"]),
    ("shells", ["bench", "cli", "__main__", ""]),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """{module: modules of the package it imports}, and the private names it takes from others."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    private = []
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        imported_modules: dict[str, str] = {}  # local name -> module, for attribute access checks
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    dst = full if full in modules else target
                    if dst in modules and dst != mod:
                        graph[mod].add(dst)
                        if full in modules:
                            imported_modules[alias.asname or alias.name] = full
                    if target in modules and target != mod and alias.name.startswith("_") \
                            and not alias.name.startswith("__"):
                        private.append(f"{mod} imports {alias.name} from {target}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.name != mod:
                        graph[mod].add(alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in imported_modules and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                private.append(f"{mod} uses {node.attr} of {imported_modules[node.value.id]}")
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        x = stack.pop()
                        on.discard(x)
                        comp.append(x)
                        if x == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif w not in index:
                index[w] = low[w] = counter
                counter += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(graph.get(w, ())))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return out


def stage_of(module: str, package: str = "discover") -> int:
    """The stage index of a module: the most specific entry naming it (``engines.*``: its submodules)."""
    rel = module[len(package) + 1:] if module != package else ""
    best, best_len = None, -1
    for i, (_, names) in enumerate(STAGES):
        for name in names:
            if name.endswith(".*"):
                prefix = name[:-2]
                hit = rel.startswith(prefix + ".")
                length = len(prefix) + 1
            else:
                hit = rel == name or (name and rel.startswith(name + "."))
                length = len(name)
            if hit and length > best_len:
                best, best_len = i, length
    if best is None:
        raise AssertionError(f"module {module} is in no stage of tests/test_architecture.py: place it in one")
    return best


def stage_violations(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for src, dsts in graph.items():
        for dst in dsts:
            if stage_of(src) < stage_of(dst):
                out.append(f"{src} ({STAGES[stage_of(src)][0]}) imports {dst} ({STAGES[stage_of(dst)][0]})")
    return sorted(out)


def test_no_import_cycles_and_no_private_names_across_modules():
    graph, private = import_graph(PACKAGE)
    assert not cycles(graph), cycles(graph)
    assert not private, private


def test_imports_run_one_way_through_the_stages():
    graph, _ = import_graph(PACKAGE)
    assert not stage_violations(graph)


def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "discover"
    for name, text in files.items():
        p = pkg / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return pkg


def test_the_checks_catch_a_cycle_a_private_import_and_an_upward_import(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "",
        "law.py": "from .data import thing\n",
        "data.py": "def f():\n    from .law import _hidden\n",
        "score.py": "from . import scoring\nx = scoring._cache\n",
        "scoring.py": "_cache = {}\n",
    })
    graph, private = import_graph(pkg)
    assert cycles(graph) == [["discover.data", "discover.law"]]
    assert "discover.data imports _hidden from discover.law" in private
    assert "discover.score uses _cache of discover.scoring" in private
    assert any(v.startswith("discover.law (foundation) imports discover.data") for v in stage_violations(graph))


def test_a_module_outside_every_stage_is_named():
    with pytest.raises(AssertionError, match="discover.newthing is in no stage"):
        stage_of("discover.newthing")
